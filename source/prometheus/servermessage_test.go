package prometheus

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A refusal in plain text or HTML, as the servers and the proxies in front of them
// answer, is named by the query's error: "client error: 401" alone left the operator
// guessing which header or limit to fix. Plain text is quoted (white space collapsed,
// cut at 512 bytes); an HTML page by its title, never its markup.
func TestPlainTextRefusalNamesTheServersMessage(t *testing.T) {
	long := strings.Repeat("x", 600)
	accented := "x" + strings.Repeat("é", 300) // 601 bytes: byte 512 is inside an é
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
	}{
		// Mimir without X-Scope-OrgID: grafana/dskit middleware/http_auth.go
		// (http.Error(w, err.Error(), http.StatusUnauthorized)), weaveworks/common user
		// ErrNoOrgID "no org id".
		{"Mimir: no tenant header", http.StatusUnauthorized, "text/plain; charset=utf-8", "no org id\n", "(server: no org id)"},
		// Mimir's query-frontend with the scheduler's per-tenant queue full: 429 with the
		// bare body (grafana/mimir pkg/frontend/v2, the scheduler's TOO_MANY_REQUESTS_PER_TENANT).
		{"Mimir: queue full", http.StatusTooManyRequests, "", "too many outstanding requests", "(server: too many outstanding requests)"},
		// vmselect over -search.maxConcurrentRequests (see vmConcurrencyRefusal).
		{"VictoriaMetrics: concurrency limit", http.StatusTooManyRequests, "text/plain; charset=utf-8",
			"couldn't start executing the request in 10.000 seconds, since -search.maxConcurrentRequests=16\nconcurrent requests are executed.\n",
			"(server: couldn't start executing the request in 10.000 seconds, since -search.maxConcurrentRequests=16 concurrent requests are executed.)"},
		// nginx in front, its upstream down: its stock error page.
		{"nginx: bad gateway", http.StatusBadGateway, "text/html",
			"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			`(server: an HTML page titled "502 Bad Gateway")`},
		// oauth2-proxy refusing a request without its session: its sign-in page, 403.
		{"oauth2-proxy: sign-in page", http.StatusForbidden, "text/html; charset=utf-8",
			"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sign In</title>\n</head>\n<body><form method=\"GET\" action=\"/oauth2/start\"></form></body></html>",
			`(server: an HTML page titled "Sign In")`},
		{"an HTML page without a title", http.StatusForbidden, "text/html", "<html><body><h1>Forbidden</h1></body></html>", "(server: an HTML page)"},
		{"a long body", http.StatusForbidden, "text/plain", long, "(server: " + long[:512] + "…)"},
		{"a long body cut at a rune's start", http.StatusForbidden, "text/plain; charset=utf-8", accented, "(server: " + accented[:511] + "…)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			cfg := fastConfig()
			cfg.QueryTimeout = 50 * time.Millisecond // 429 and 502 are retried until then
			r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg))
			if r.Error == nil || !strings.Contains(r.Error.Error(), tc.want) {
				t.Errorf("got %v; want it to contain %q", r.Error, tc.want)
			}
			if r.Error != nil && strings.Contains(r.Error.Error(), "<") {
				t.Errorf("the error quotes markup: %v", r.Error)
			}
			if r.Error != nil && !utf8.ValidString(r.Error.Error()) {
				t.Errorf("the error is not valid UTF-8: %q", r.Error)
			}
		})
	}
}

// oauth2-proxy in front of the server, the request without its session: a 302 to its
// sign-in page, which answers 200 with HTML. client_golang says only that the body is
// not JSON; the error now says it is the sign-in page (by its title), at the URL the
// redirect led to.
func TestSignInPageAfterARedirectNamesItself(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		if r.URL.Path != "/oauth2/sign_in" {
			http.Redirect(w, r, "/oauth2/sign_in?rd=%2Fapi%2Fv1%2Fquery", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sign In</title>\n</head>\n<body><form method=\"GET\" action=\"/oauth2/start\"></form></body></html>"))
	})
	r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig()))
	want := " at " + srv.URL + `/oauth2/sign_in: bad_response: `
	if r.Error == nil || !strings.Contains(r.Error.Error(), want) || !strings.HasSuffix(r.Error.Error(), `(server: an HTML page titled "Sign In")`) {
		t.Errorf("got %v; want it to contain %q and end with the page's title", r.Error, want)
	}
}
