import { FetchResponse, isFetchError } from '@grafana/runtime';

/**
 * Prometheus API endpoints the editor can do without, with the empty answer that
 * stands in for them while Graft's backend does not serve them (it answers 404
 * not_found). As each lands in the backend its real answer is used: nothing here
 * needs to change.
 *
 * - metadata: metric types and help in autocompletion and the metrics explorer;
 *   without it the editor offers metric names without descriptions.
 * - query_exemplars: PrometheusDatasource probes it to decide whether to offer the
 *   Exemplars switch. Graft's QueryData returns exemplars whatever the endpoint
 *   says, so an empty success keeps the switch.
 */
const EMPTY_ANSWERS: Record<string, () => unknown> = {
  '/api/v1/metadata': () => ({}),
  '/api/v1/query_exemplars': () => [],
};

/** True for a 404 from the backend on an endpoint listed above. */
export function isMissingOptionalEndpoint(url: string, error: unknown): boolean {
  return isFetchError(error) && error.status === 404 && pathOf(url) in EMPTY_ANSWERS;
}

/** A successful Prometheus API response with the endpoint's empty data. */
export function emptyAnswer<T>(url: string): FetchResponse<T> {
  const path = pathOf(url);
  return {
    data: { status: 'success', data: EMPTY_ANSWERS[path]() } as T,
    status: 200,
    statusText: 'OK',
    ok: true,
    headers: new Headers(),
    redirected: false,
    type: 'basic',
    url: path,
    config: { url: path },
  };
}

function pathOf(url: string): string {
  return url.split('?')[0];
}
