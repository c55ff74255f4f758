package prometheus

import (
	"errors"
	"net/http"
	"testing"
)

// MustGet refreshes the one query on a cache miss and returns its result, then serves
// the cached one without a request; a failure is in the result's Error.
func TestMustGet(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, query string, _ int) {
		if query == "broken" {
			writeJSON(w, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "6"))
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "q", "other", "broken")
	for i := range 2 {
		r := s.MustGet(t.Context(), "q", nil)
		if r == nil || r.Error != nil || r.FirstValue().Value != 6 {
			t.Fatalf("MustGet(q) call %d: got %+v, want 6", i+1, r)
		}
	}
	if got := srv.count("q"); got != 1 {
		t.Errorf("requests for q: got %d, want 1 (the second MustGet is served from the cache)", got)
	}
	if got := srv.count("other"); got != 0 {
		t.Errorf("requests for other: got %d, want 0 (MustGet refreshes its query alone)", got)
	}
	var qerr *QueryError
	if r := s.MustGet(t.Context(), "broken", nil); r == nil || !errors.As(r.Error, &qerr) || len(r.Values) != 0 {
		t.Errorf("MustGet(broken): got %+v, want a result whose Error is a *QueryError", r)
	}
	if r := s.MustGet(t.Context(), "unregistered", nil); r == nil || r.Error == nil || r.QueryName != "unregistered" {
		t.Errorf("MustGet(unregistered): got %+v, want a result named for it with an Error", r)
	}
}
