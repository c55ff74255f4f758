package prometheus

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// A 200 answer with no query result (a health endpoint or a gateway reached through a
// wrong URL or path prefix) is no data, not an empty answer: the query fails with a
// *QueryError wrapping ErrNoResult and naming the URL, it is not cached, and Get keeps
// the last good value until its TTL.
func TestNoResultIsNotAnEmptyAnswer(t *testing.T) {
	for _, body := range []string{`{"status":"ok"}`, `{}`, `{"status":"success","data":null}`} {
		t.Run(body, func(t *testing.T) {
			var wrong atomic.Bool
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
				if wrong.Load() {
					writeJSON(w, http.StatusOK, body)
					return
				}
				writeJSON(w, http.StatusOK, vectorOf(1, "42"))
			})
			clk := clocktesting.NewFakeClock(time.Now())
			cfg := fastConfig()
			cfg.Clock = clk
			cfg.DefaultTTL = time.Minute
			s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
			register(t, s, "q")
			mustRefresh(t, s, source.RefreshSpec{})

			wrong.Store(true)
			clk.Step(time.Second)
			results, err := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results["q"]
			var qe *QueryError
			if !errors.As(r.Error, &qe) || !errors.Is(r.Error, ErrNoResult) || len(r.Values) != 0 {
				t.Fatalf("got values %v, Error %v; want no values and a *QueryError wrapping ErrNoResult", r.Values, r.Error)
			}
			if !errors.Is(err, ErrAllQueriesFailed) {
				t.Errorf("Refresh error: got %v, want ErrAllQueriesFailed", err)
			}
			if want := srv.URL + "/api/v1/query"; !strings.Contains(r.Error.Error(), want) {
				t.Errorf("got %q, want the URL %s named", r.Error, want)
			}
			if got := s.Get("q", nil); got == nil || got.Result.FirstValue().Value != 42 {
				t.Errorf("cache after an answer with no result: got %+v, want the last good value 42 kept", got)
			}
			clk.Step(time.Minute)
			if got := s.Get("q", nil); got != nil {
				t.Errorf("cache past the last good value's TTL: got %+v, want nil", got)
			}
		})
	}
}

// An answer of the wrong server (404 under a wrong path prefix, an HTML page with 200)
// names the URL that answered, so the operator sees which setting is wrong; the URL's
// password is redacted and its query string (the expression, a key a gateway takes as a
// parameter) left out. A refused connection had no answer: its URL is named by the
// connection error alone.
func TestErrorNamesTheURLThatAnswered(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		if strings.HasPrefix(r.URL.Path, "/wrong-prefix/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Grafana</body></html>"))
	})
	const pw = "s3cr3t-api-key"
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name, url, want string
	}{
		{"404 under a wrong path prefix", srv.URL + "/wrong-prefix", " at " + srv.URL + "/wrong-prefix/api/v1/query: client_error: client error: 404"},
		{"an HTML page with 200", srv.URL + "/grafana?api_key=" + pw, " at " + srv.URL + "/grafana/api/v1/query: bad_response: "},
		{"a password in the URL", "http://user:" + pw + "@" + host + "/wrong-prefix", " at http://user:xxxxx@" + host + "/wrong-prefix/api/v1/query: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAPI(ClientConfig{URL: tc.url})
			if err != nil {
				t.Fatal(err)
			}
			r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
			if r.Error == nil || !strings.Contains(r.Error.Error(), tc.want) {
				t.Errorf("got %v; want it to contain %q", r.Error, tc.want)
			}
			if r.Error != nil && strings.Contains(r.Error.Error(), pw) {
				t.Errorf("the error shows the password or key: %v", r.Error)
			}
		})
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	a, err := NewAPI(ClientConfig{URL: "http://" + closed})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.QueryTimeout = 100 * time.Millisecond // the refusals are retried until then
	r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, cfg))
	var qe *QueryError
	if !errors.As(r.Error, &qe) || qe.URL != "" || !strings.Contains(r.Error.Error(), "http://"+closed) {
		t.Errorf("a refused connection: got %v; want its URL named by the connection error, with no URL that answered", r.Error)
	}
}
