package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// Snapshotter writes a consistent copy of the storage into dir, with or
// without the in-memory head (the TSDB's Snapshot).
type Snapshotter interface {
	Snapshot(ctx context.Context, dir string, withHead bool) error
}

// Admin is the admin API (Prometheus's --web.enable-admin-api). A nil
// *Admin answers every admin endpoint "admin APIs disabled", as Prometheus.
type Admin struct {
	Snapshots Snapshotter
	// Dir is where snapshots are written: <data dir>/snapshots.
	Dir string
	// Now names snapshots (nil: time.Now).
	Now func() time.Time
}

var errAdminDisabled = errors.New("admin APIs disabled")

// adminRoutes registers the admin endpoints on mux.
func (a *API) adminRoutes(mux *http.ServeMux) {
	for _, method := range []string{"POST ", "PUT "} {
		mux.HandleFunc(method+"/api/v1/admin/tsdb/snapshot", a.snapshot)
		mux.HandleFunc(method+"/api/v1/admin/tsdb/delete_series", a.unsupportedAdmin)
		mux.HandleFunc(method+"/api/v1/admin/tsdb/clean_tombstones", a.unsupportedAdmin)
	}
}

// snapshot serves /api/v1/admin/tsdb/snapshot?skip_head=<bool>: a copy of
// the database in <data dir>/snapshots/<name>, answered with its name.
func (a *API) snapshot(w http.ResponseWriter, r *http.Request) {
	if a.Admin == nil {
		writeError(w, &apiError{typ: errorUnavailable, err: errAdminDisabled})
		return
	}
	skipHead := false
	if v := r.FormValue("skip_head"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, badData(fmt.Errorf("unable to parse boolean 'skip_head' argument: %w", err)))
			return
		}
		skipHead = b
	}
	name, err := a.Admin.snapshotName()
	if err != nil {
		writeError(w, &apiError{typ: errorInternal, err: err})
		return
	}
	dir := filepath.Join(a.Admin.Dir, name)
	if err := a.Admin.Snapshots.Snapshot(r.Context(), dir, !skipHead); err != nil {
		writeError(w, &apiError{typ: errorInternal, err: fmt.Errorf("create snapshot: %w", err)})
		return
	}
	writeData(w, struct {
		Name string `json:"name"`
	}{name}, nil)
}

// snapshotName is Prometheus's form: the UTC time, then 16 random hex digits.
func (ad *Admin) snapshotName() (string, error) {
	now := time.Now
	if ad.Now != nil {
		now = ad.Now
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("snapshot name: %w", err)
	}
	return now().UTC().Format("20060102T150405Z0700") + "-" + hex.EncodeToString(b[:]), nil
}

// unsupportedAdmin answers the admin endpoints Graft's storage has no use
// for: it keeps no tombstones, so series are deleted by retention only.
func (a *API) unsupportedAdmin(w http.ResponseWriter, _ *http.Request) {
	if a.Admin == nil {
		writeError(w, &apiError{typ: errorUnavailable, err: errAdminDisabled})
		return
	}
	writeError(w, &apiError{typ: errorUnavailable, err: errors.New("not supported: Graft's storage deletes data by retention only")})
}
