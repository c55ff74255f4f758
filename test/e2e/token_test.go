package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// logBuffer is a logr sink's output, safe for the concurrent writes of a refresh.
type logBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

// logger returns a logger writing to lb that logs up to verbosity.
func (lb *logBuffer) logger(verbosity int) logr.Logger {
	return funcr.New(func(prefix, args string) {
		lb.mu.Lock()
		defer lb.mu.Unlock()
		fmt.Fprintln(&lb.buf, prefix, args)
	}, funcr.Options{Verbosity: verbosity})
}

func (lb *logBuffer) String() string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.buf.String()
}

// echoToken is what a hostile or careless pod does with the Authorization header it
// gets: it puts it where the scraper would quote it. Each request is recorded.
func echoToken(rec *recorder, where string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.requests = append(rec.requests, r.Clone(context.Background()))
		rec.mu.Unlock()
		auth := r.Header.Get("Authorization")
		switch where {
		case "body":
			w.Header().Set("Content-Type", textFormat)
			_, _ = w.Write([]byte(auth + "\n"))
		case "content-type":
			// An HTML page (a login page, a proxy's error) quoting the token in its type; an
			// empty body would be an empty scrape, whatever its type, as in Prometheus.
			w.Header().Set("Content-Type", "text/html; charset=\""+auth+"\"")
			_, _ = w.Write([]byte("<html>login</html>\n"))
		case "location":
			http.Redirect(w, r, "http://"+r.Host+"/login?auth="+strings.TrimPrefix(auth, "Bearer "), http.StatusFound)
		}
	})
}

func TestTokenNeverLeavesForRedirectsErrorsLogsOrMetrics(t *testing.T) {
	t.Parallel()
	const token = "leak-canary-7f3a9c1e5b2d4086" // from the Secret, as in production
	elsewhere := &recorder{body: []byte("stolen 1\n")}
	other := startService(t, podDef{name: "elsewhere", handler: elsewhere})
	target := other.servers["elsewhere"].URL() + "/metrics"

	echoes := map[string]*recorder{"echo-body": {}, "echo-content-type": {}, "echo-location": {}}
	defs := []podDef{{name: "healthy", handler: serve([]byte("m 1\n"))}}
	codes := []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
	for _, code := range codes {
		defs = append(defs, podDef{name: fmt.Sprintf("redirect-%d", code), handler: http.RedirectHandler(target, code)})
	}
	for name, rec := range echoes {
		defs = append(defs, podDef{name: name, handler: echoToken(rec, strings.TrimPrefix(name, "echo-"))})
	}
	f := startService(t, defs...)
	createSecret(t, f.ns, "reader", map[string]string{"token": token})
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.MetricsReaderSecretName = "reader"
	cfg.Registerer = reg
	s := newSource(t, cfg)

	var logs logBuffer
	ctx, cancel := context.WithTimeout(logr.NewContext(context.Background(), logs.logger(10)), 30*time.Second)
	defer cancel()
	results, err := s.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatalf("Refresh: got %v, want nil with a healthy pod", err)
	}
	r := results[pod.AllMetricsQuery]
	errs := scrapeErrors(t, r.Error)

	// Redirects: reported, never followed, so the other server saw no request at all
	// and no Authorization header.
	for _, code := range codes {
		name := fmt.Sprintf("redirect-%d", code)
		e := errs[name]
		if e == nil { // a nil *ScrapeError in an error interface would panic in errors.Is
			t.Errorf("%s: got no error, want ErrRedirect naming %s (was the redirect followed?)", name, target)
			continue
		}
		if !errors.Is(e, pod.ErrRedirect) || pod.ScrapeReason(e) != pod.ReasonRedirect || !strings.Contains(e.Error(), target) {
			t.Errorf("%s: got %v, want ErrRedirect naming %s", name, e, target)
		}
	}
	if seen := elsewhere.seen(); len(seen) != 0 {
		t.Errorf("the redirect target saw %d requests (Authorization %q), want none", len(seen), authHeaders(elsewhere))
	}

	// The echoing pods got the token and put it in what the errors quote: the errors
	// show that they were redacted, not that nothing was there.
	for name, rec := range echoes {
		if got := authHeaders(rec); len(got) != 1 || got[0] != "Bearer "+token {
			t.Fatalf("%s: Authorization %q, want the token (else this test proves nothing)", name, got)
		}
		if e := errs[name]; e == nil || !strings.Contains(e.Error(), "[REDACTED]") {
			t.Errorf("%s: got %v, want an error quoting the pod with the token redacted", name, e)
		}
	}

	// The same pods alone: every pod fails, and Refresh's own error is checked too.
	failing := startService(t, podDef{name: "echo", handler: echoToken(&recorder{}, "body")})
	createSecret(t, failing.ns, "reader", map[string]string{"token": token})
	failingCfg := failing.config()
	failingCfg.MetricsReaderSecretName = "reader"
	_, allErr := newSource(t, failingCfg).Refresh(ctx, source.RefreshSpec{})
	if !errors.Is(allErr, pod.ErrAllPodsFailed) {
		t.Fatalf("all pods failing: got %v, want ErrAllPodsFailed", allErr)
	}

	var metrics bytes.Buffer
	families, gerr := reg.Gather()
	if gerr != nil {
		t.Fatal(gerr)
	}
	for _, mf := range families {
		_, _ = expfmt.MetricFamilyToText(&metrics, mf)
	}
	for what, text := range map[string]string{
		"result error":     r.Error.Error(),
		"result error %+v": fmt.Sprintf("%+v", r.Error),
		"Refresh error":    allErr.Error(),
		"logs":             logs.String(),
		"metrics":          metrics.String(),
	} {
		if showsToken(text, token) {
			t.Errorf("%s shows the token:\n%s", what, text)
		}
	}
	if !strings.Contains(logs.String(), "pod scrape failed") {
		t.Errorf("logs: want the per-pod failures logged (else grepping them proves nothing):\n%s", logs.String())
	}
}

// Tokens with characters that escaping changes (", \, a tab, non-ASCII) are echoed by a
// pod into a malformed line, a Content-Type and a Location; no error or log shows them in
// any form: as sent, as %q, %+q or JSON write them, or URL-escaped.
func TestTokenRedactedInEveryForm(t *testing.T) {
	t.Parallel()
	tokens := []string{
		`quote"canary-4b1d9e7f2a`,
		`back\slash-canary-8c3e5a1f6d`,
		"\"both\\\"-canary-2f7a9c4e1b",
		"tab\tand-caf\u00e9-canary-6e2b8d4a9c",
	}
	for i, token := range tokens {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			echoes := map[string]*recorder{"echo-body": {}, "echo-content-type": {}, "echo-location": {}}
			var defs []podDef
			for name, rec := range echoes {
				defs = append(defs, podDef{name: name, handler: echoToken(rec, strings.TrimPrefix(name, "echo-"))})
			}
			f := startService(t, defs...)
			cfg := f.config()
			cfg.BearerToken = token
			s := newSource(t, cfg)

			var logs logBuffer
			ctx, cancel := context.WithTimeout(logr.NewContext(context.Background(), logs.logger(10)), 30*time.Second)
			defer cancel()
			results, err := s.Refresh(ctx, source.RefreshSpec{})
			if !errors.Is(err, pod.ErrAllPodsFailed) {
				t.Fatalf("Refresh: got %v, want ErrAllPodsFailed", err)
			}
			r := results[pod.AllMetricsQuery]
			errs := scrapeErrors(t, r.Error)
			for name, rec := range echoes {
				if got := authHeaders(rec); len(got) != 1 || got[0] != "Bearer "+token {
					t.Fatalf("%s: Authorization %q, want the token (else this test proves nothing)", name, got)
				}
				if e := errs[name]; e == nil || !strings.Contains(e.Error(), "[REDACTED]") {
					t.Errorf("%s: got %v, want an error quoting the pod with the token redacted", name, e)
				}
			}
			if e := errs["echo-body"]; e == nil || pod.ScrapeReason(e) != pod.ReasonParse {
				t.Errorf("echo-body: got %v, want a parse error (the echoed line is malformed)", e)
			}
			for what, text := range map[string]string{
				"result error":     r.Error.Error(),
				"result error %+v": fmt.Sprintf("%+v", r.Error),
				"result error %q":  fmt.Sprintf("%q", r.Error),
				"Refresh error":    err.Error(),
				"logs":             logs.String(),
			} {
				for _, form := range escapedForms(token) {
					if showsToken(text, form) {
						t.Errorf("%s shows the token as %q:\n%s", what, form, text)
					}
				}
			}
		})
	}
}

// escapedForms are the ways error text can write token that a caller could read it back
// from: as is, and as %q, %+q, JSON and URL escaping write it.
func escapedForms(token string) []string {
	inner := func(q string) string { return q[1 : len(q)-1] }
	j, _ := json.Marshal(token)
	return []string{token, inner(strconv.Quote(token)), inner(strconv.QuoteToASCII(token)),
		inner(string(j)), url.QueryEscape(token)}
}

// showsToken reports whether text shows any 8 bytes of token in a row: the token whole,
// cut short by a quote, or wrapped across the rows of a hex dump.
func showsToken(text, token string) bool {
	for i := 0; i+8 <= len(token); i++ {
		if strings.Contains(text, token[i:i+8]) {
			return true
		}
	}
	return false
}
