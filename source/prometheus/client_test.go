package prometheus

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
)

const secret = "s3cr3t-t0ken-value"

// queryOnce runs one query through a source on api and returns its result.
func queryOnce(t *testing.T, ctx context.Context, s *PrometheusSource) *source.MetricResult {
	t.Helper()
	if s.QueryList().Get("up") == nil {
		register(t, s, "up")
	}
	results, _ := s.Refresh(ctx, source.RefreshSpec{})
	return results["up"]
}

func okServer(t *testing.T) *apiServer {
	return newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
}

func TestTokenAndHeaders(t *testing.T) {
	srv := okServer(t)
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{BearerToken: secret, Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}}), fastConfig())
	if r := queryOnce(t, t.Context(), s); r.Error != nil {
		t.Fatal(r.Error)
	}
	h := srv.received()[0].header
	if got, want := h.Get("Authorization"), "Bearer "+secret; got != want {
		t.Errorf("Authorization: got %q, want %q", got, want)
	}
	if got := h.Get("X-Scope-OrgID"); got != "tenant-a" {
		t.Errorf("X-Scope-OrgID: got %q, want tenant-a", got)
	}
}

// Headers{"Host": …} reaches the server as the request's Host (a virtual-host ingress in
// front of Thanos, reached by IP or by a Service name): Go's client sends Request.Host and
// ignores Header["Host"], so without this the setting was silently dropped.
func TestHostHeaderSetsTheRequestHost(t *testing.T) {
	hosts := make(chan string, 1)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		hosts <- r.Host
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{Headers: map[string]string{"host": "thanos.example.com"}}), fastConfig())
	if r := queryOnce(t, t.Context(), s); r.Error != nil {
		t.Fatal(r.Error)
	}
	if got := <-hosts; got != "thanos.example.com" {
		t.Errorf("Headers host: thanos.example.com: the server got Host %q", got)
	}
}

// TestTokenFileRotation rewrites the token file as the kubelet rotates a projected
// token (a new file renamed over the old), and in place; each request carries the
// current token, and the last one read while the file is missing.
func TestTokenFileRotation(t *testing.T) {
	srv := okServer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	write := func(token string) {
		t.Helper()
		tmp := filepath.Join(dir, "token.tmp")
		if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("first")
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{BearerTokenFile: path}), fastConfig())
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"initial", func() {}, "first"},
		{"unchanged", func() {}, "first"},
		{"renamed over", func() { write("second") }, "second"},
		{"rewritten in place, same size", func() {
			if err := os.WriteFile(path, []byte("third!\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "third!"},
		{"removed: the last token", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "third!"},
		{"back", func() { write("fourth") }, "fourth"},
	}
	for i, step := range steps {
		step.change()
		if r := queryOnce(t, t.Context(), s); r.Error != nil {
			t.Fatalf("%s: %v", step.name, r.Error)
		}
		if got := srv.received()[i].header.Get("Authorization"); got != "Bearer "+step.want {
			t.Errorf("%s: got %q, want %q", step.name, got, "Bearer "+step.want)
		}
	}
}

func TestTLS(t *testing.T) {
	srv := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	}))
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	// httptest's certificate names 127.0.0.1 and example.com.
	tests := []struct {
		name    string
		config  ClientConfig
		wantErr string
	}{
		{"system roots refuse it", ClientConfig{}, "certificate signed by unknown authority"},
		{"CAData", ClientConfig{CAData: ca}, ""},
		{"CAFile", ClientConfig{CAFile: caFile}, ""},
		{"ServerName in the certificate", ClientConfig{CAData: ca, ServerName: "example.com"}, ""},
		{"ServerName not in the certificate", ClientConfig{CAData: ca, ServerName: "prometheus.example.org"}, "prometheus.example.org"},
		{"insecure", ClientConfig{InsecureSkipVerify: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.config.URL = srv.URL
			a, err := NewAPI(tt.config)
			if err != nil {
				t.Fatal(err)
			}
			r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
			switch {
			case tt.wantErr == "" && r.Error != nil:
				t.Errorf("got %v, want no error", r.Error)
			case tt.wantErr != "" && (r.Error == nil || !strings.Contains(r.Error.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", r.Error, tt.wantErr)
			}
		})
	}
}

// TestRedirectElsewhereGetsNoToken follows a redirect to another host without the token
// or the headers.
func TestRedirectElsewhereGetsNoToken(t *testing.T) {
	other := okServer(t)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{BearerToken: secret, Headers: map[string]string{"X-Scope-OrgID": "t"}}), fastConfig())
	if r := queryOnce(t, t.Context(), s); r.Error != nil {
		t.Fatal(r.Error)
	}
	if got := srv.received()[0].header.Get("Authorization"); got == "" {
		t.Error("the configured host got no token")
	}
	if len(other.received()) == 0 {
		t.Fatal("the redirect was not followed")
	}
	for _, r := range other.received() {
		if r.header.Get("Authorization") != "" || r.header.Get("X-Scope-OrgID") != "" {
			t.Errorf("the other host got %v", r.header)
		}
	}
}

func TestMaxResponseBytes(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, vectorOf(1, "1", "2", "3", "4", "5", "6", "7", "8"))
	})
	body := len(vectorOf(1, "1", "2", "3", "4", "5", "6", "7", "8"))
	for _, tt := range []struct {
		limit   int64
		wantErr bool
	}{{int64(body), false}, {int64(body - 1), true}} {
		s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{MaxResponseBytes: tt.limit}), fastConfig())
		r := queryOnce(t, t.Context(), s)
		if got := errors.Is(r.Error, ErrResponseTooLarge); got != tt.wantErr {
			t.Errorf("limit %d for a body of %d: got %v, want ErrResponseTooLarge %v", tt.limit, body, r.Error, tt.wantErr)
		}
	}
}

func TestClientConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  ClientConfig
		wantErr string
	}{
		{"no URL", ClientConfig{}, "scheme is not http or https"},
		{"bad scheme", ClientConfig{URL: "ftp://x"}, `URL "ftp://x": scheme is not http or https`},
		// Without a scheme, an IP and port fail Go's URL parser and a name and port parse
		// with the name as scheme: both lack the scheme, and say so (issue 16 item 3).
		{"IP and port without a scheme", ClientConfig{URL: "127.0.0.1:9090"}, `URL "127.0.0.1:9090": scheme is not http or https`},
		{"name and port without a scheme", ClientConfig{URL: "localhost:9090"}, `URL "localhost:9090": scheme is not http or https`},
		{"no host", ClientConfig{URL: "http://"}, "no host"},
		{"token and file", ClientConfig{URL: "http://x", BearerToken: secret, BearerTokenFile: "/f"}, "BearerToken and BearerTokenFile are both set"},
		{"token with a newline", ClientConfig{URL: "http://x", BearerToken: secret + "\n"}, "BearerToken holds characters"},
		{"missing token file", ClientConfig{URL: "http://x", BearerTokenFile: "/nonexistent/token"}, "/nonexistent/token"},
		{"TLS options over http", ClientConfig{URL: "http://x", InsecureSkipVerify: true}, "need https"},
		{"bad CAData", ClientConfig{URL: "https://x", CAData: []byte("nope")}, "CAData: no PEM certificate"},
		{"missing CAFile", ClientConfig{URL: "https://x", CAFile: "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"},
		{"Authorization header", ClientConfig{URL: "http://x", Headers: map[string]string{"authorization": "Bearer " + secret}}, "Authorization is refused"},
		{"bad header name", ClientConfig{URL: "http://x", Headers: map[string]string{"X Tenant": "a"}}, `"X Tenant" is not a header name`},
		{"bad header value", ClientConfig{URL: "http://x", Headers: map[string]string{"X-Scope-OrgID": "a\nb"}}, "the value of X-Scope-OrgID"},
		{"negative MaxResponseBytes", ClientConfig{URL: "http://x", MaxResponseBytes: -1}, "MaxResponseBytes -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAPI(tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// TestTokenNeverShown fails requests every way a token could leak (the server refusing
// it, down, unavailable with retries logged, TLS refused) and checks the token is in no
// error, no log line, and no printed config.
func TestTokenNeverShown(t *testing.T) {
	ctx, logs := logged(t)

	refusing := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		// A server that quotes the header it got in its answer.
		writeJSON(w, http.StatusUnauthorized, fmt.Sprintf(`{"status":"error","errorType":"unauthorized","error":%q}`, r.Header.Get("Authorization")))
	})
	unavailable := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
		writeJSON(w, http.StatusServiceUnavailable, "down")
	})
	refusedTLS := tlsServer(t, http.NotFoundHandler())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()

	var errs []error
	for _, url := range []string{refusing.URL, unavailable.URL, refusedTLS.URL, closed} {
		config := ClientConfig{URL: url, BearerToken: secret}
		a, err := NewAPI(config)
		if err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig()
		cfg.QueryTimeout = 100 * 1e6 // 100ms of retries
		r := queryOnce(t, ctx, NewPrometheusSource(ctx, a, cfg))
		if r.Error == nil {
			t.Fatalf("%s: got no error", url)
		}
		errs = append(errs, r.Error)
		for _, shown := range []string{r.Error.Error(), fmt.Sprintf("%v", config), fmt.Sprintf("%+v", config), fmt.Sprintf("%#v", config), fmt.Sprintf("%v", &config), config.String()} {
			if strings.Contains(shown, secret) {
				t.Errorf("shown: %s", shown)
			}
		}
	}
	if !strings.Contains(logs(), "retrying") {
		t.Errorf("no retry was logged; the log check proves nothing:\n%s", logs())
	}
	if strings.Contains(logs(), secret) {
		t.Errorf("the log shows the token:\n%s", logs())
	}
	t.Logf("errors: %v", errs)
}

// A hosted Prometheus (Grafana Cloud, a basic-auth ingress) is reached with its
// credentials in the URL's userinfo, and an API-key scheme in a header of its own
// (Authorization is refused). Printing the config, in every form, shows neither the
// password nor a header's value, but keeps the header's name and the URL's user and
// host; NewAPI's error for a URL that does not parse (a trailing newline from a Secret,
// a missing scheme) does not quote the raw URL either.
func TestURLPasswordAndHeaderValuesNeverShown(t *testing.T) {
	const pw = "glc_s3cr3tapikey"
	cfg := ClientConfig{
		URL:     "https://12345:" + pw + "@prometheus.example.net/api/prom",
		Headers: map[string]string{"X-Api-Key": pw, "X-Scope-OrgID": "tenant-" + pw},
	}
	for _, shown := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		if strings.Contains(shown, pw) {
			t.Errorf("printed ClientConfig shows a credential: %s", shown)
		}
		for _, kept := range []string{"https://12345:xxxxx@prometheus.example.net/api/prom", "X-Api-Key:[REDACTED]", "X-Scope-OrgID:[REDACTED]"} {
			if !strings.Contains(shown, kept) {
				t.Errorf("printed ClientConfig %s: want %q in it", shown, kept)
			}
		}
	}
	if cfg.Headers["X-Api-Key"] != pw {
		t.Errorf("String changed the caller's Headers: %v", cfg.Headers)
	}
	for _, url := range []string{
		cfg.URL + "\n", // a control character: does not parse
		"https://12345:" + pw + "@prom example.net",    // a space in the host: does not parse
		"12345:" + pw + "@prometheus.example.net:9090", // no scheme: does not parse
		"user:" + pw + "@prometheus.example.net:9090",  // no scheme: parses with scheme "user"
	} {
		_, err := NewAPI(ClientConfig{URL: url})
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("NewAPI(%q): got %v; want an error without the password", url, err)
		}
		if shown := (ClientConfig{URL: url}).String(); strings.Contains(shown, pw) {
			t.Errorf("printed ClientConfig with URL %q shows the password: %s", url, shown)
		}
	}
}

// tlsServer starts a TLS server on 127.0.0.1 that does not log refused handshakes.
func tlsServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
