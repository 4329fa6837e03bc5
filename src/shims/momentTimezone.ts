/**
 * Stands in for moment-timezone in the bundle (see webpack.config.ts).
 *
 * @grafana/prometheus 12.4 uses moment-timezone for one thing: the UTC offset, now,
 * of the dashboard's time zone (PrometheusDatasource.processTargetV2 calls
 * `tz(request.timezone).utcOffset()`), sent as utcOffsetSec so that the backend
 * aligns steps to local time. Bundling moment-timezone for that costs 700 KB of
 * zone data, and re-installs `moment.tz` on the moment instance Grafana shares with
 * plugins. The browser knows every IANA zone already, through Intl.
 */
export function tz(timeZone: string): { utcOffset(): number } {
  return { utcOffset: () => utcOffsetMinutes(timeZone, new Date()) };
}

/**
 * Minutes to add to UTC to get the local time of the zone at the given instant
 * (120 for Europe/Paris in summer, -150 for America/St_Johns in summer). An unknown
 * zone counts as UTC, as moment-timezone does.
 */
export function utcOffsetMinutes(timeZone: string, at: Date): number {
  let name: string | undefined;
  try {
    const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    name = format.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value;
  } catch {
    return 0;
  }
  // "GMT" for UTC itself, otherwise "GMT+05:30" or "GMT-03:00".
  const match = name?.match(/^GMT([+-])(\d{2}):(\d{2})$/);
  if (!match) {
    return 0;
  }
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}
