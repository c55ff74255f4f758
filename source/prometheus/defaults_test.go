package prometheus

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// The zero config takes every default; a field set keeps its value; a MaxRetryBackoff
// below RetryBackoff is raised to it.
func TestConfigDefaults(t *testing.T) {
	d := DefaultPrometheusSourceConfig()
	if d.DefaultTTL != DefaultTTL || d.QueryTimeout != DefaultQueryTimeout || d.MaxConcurrentQueries != DefaultMaxConcurrentQueries ||
		d.RetryBackoff != DefaultRetryBackoff || d.MaxRetryBackoff != DefaultMaxRetryBackoff || d.Clock == nil {
		t.Errorf("DefaultPrometheusSourceConfig() = %+v, want every default", d)
	}
	set := PrometheusSourceConfig{DefaultTTL: time.Second, QueryTimeout: 2 * time.Second, MaxConcurrentQueries: 3,
		RetryBackoff: 4 * time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond}.withDefaults()
	if set.DefaultTTL != time.Second || set.QueryTimeout != 2*time.Second || set.MaxConcurrentQueries != 3 ||
		set.RetryBackoff != 4*time.Millisecond || set.MaxRetryBackoff != 5*time.Millisecond {
		t.Errorf("withDefaults of a config with every field set = %+v, want it unchanged", set)
	}
	raised := PrometheusSourceConfig{RetryBackoff: time.Second, MaxRetryBackoff: time.Millisecond}.withDefaults()
	if raised.MaxRetryBackoff != time.Second {
		t.Errorf("MaxRetryBackoff below RetryBackoff: got %s, want it raised to %s", raised.MaxRetryBackoff, time.Second)
	}
	equal := PrometheusSourceConfig{RetryBackoff: time.Second, MaxRetryBackoff: time.Second}.withDefaults()
	if equal.MaxRetryBackoff != time.Second {
		t.Errorf("MaxRetryBackoff equal to RetryBackoff: got %s, want %s", equal.MaxRetryBackoff, time.Second)
	}
}

// A QueryError names the query, the expression when there is one, the cause, and the
// attempts only when there was more than one.
func TestQueryErrorMessage(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tc := range []struct {
		err  QueryError
		want string
	}{
		{QueryError{Query: "q", Expr: "up", Attempts: 1, Err: cause}, `query "q" (up): connection refused`},
		{QueryError{Query: "q", Attempts: 0, Err: cause}, `query "q": connection refused`},
		{QueryError{Query: "q", Expr: "up", Attempts: 3, Err: cause}, `query "q" (up): connection refused (after 3 attempts)`},
		{QueryError{Query: "q", Expr: "up", Attempts: 1, URL: "http://h/api/v1/query", Err: cause}, `query "q" (up) at http://h/api/v1/query: connection refused`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// A query's final failure reads as the query, its expression, the URL that answered
// and the server's answer (its status, and its body's text), nothing else.
func TestFinalFailureMessage(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusNotFound, "not here")
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "q")
	results, _ := s.Refresh(t.Context(), source.RefreshSpec{})
	if got, want := results["q"].Error.Error(), `query "q" (q) at `+srv.URL+`/api/v1/query: client_error: client error: 404 (server: not here)`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
