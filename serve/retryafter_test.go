package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// askWithHeader asks the instant query expr and returns the status, the envelope and the
// Retry-After header ("" when none).
func askWithHeader(t *testing.T, base, expr string) (int, apiResponse, string) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %d, body %q is not JSON: %v", expr, resp.StatusCode, body, err)
	}
	return resp.StatusCode, r, resp.Header.Get("Retry-After")
}

// TestNotScrapedYetSaysWhenToAskAgain: right after serve starts, a query reading a
// Service whose first scrape is under way (its pod slow to answer) is 503 unavailable
// with Retry-After: 1 (RFC 9110 10.2.3), so a client that treats 503 unavailable as
// final (source/prometheus) asks again rather than failing an autoscaler's Refresh; it
// carries it too beside a Service that answers. The other 503s carry none, alone or
// beside a Service not scraped yet: every pod failed, and no pod Ready, are answers an
// autoscaler must act on at once. Once scraped, the Service answers 200, no header.
func TestNotScrapedYetSaysWhenToAskAgain(t *testing.T) {
	slow := newService(t, "slow", 1, "")
	failing := newService(t, "failing", 1, "")
	unready := newService(t, "unready", 1, "x 3\n")
	fine := newService(t, "fine", 1, "x 1\n")
	release := make(chan struct{})
	slow.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "x 2\n")
	}))
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	failing.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	if err := unready.Pods()[0].SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	var cfgs []serve.ServiceConfig
	for _, svc := range []*podscrapetest.Service{slow, failing, unready, fine} {
		cfgs = append(cfgs, serviceConfig(svc))
	}
	cfgs[0].Source.ScrapeTimeout = time.Minute // the first scrape waits on the pod until released
	_, base := runServerOf(t, t.Context(), serve.Config{Services: cfgs, Interval: 4 * time.Minute})

	// The others scraped once (their answers no longer "not scraped yet"), and the slow
	// one's first scrape waiting on its pod.
	deadline := time.Now().Add(30 * time.Second)
	for _, job := range []string{"failing", "unready", "fine"} {
		for {
			_, r, _ := askWithHeader(t, base, `x{job="`+job+`"}`)
			if !strings.Contains(r.Error, "not scraped yet") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not scraped after 30s", job)
			}
			time.Sleep(10 * time.Millisecond) // polling the server's state
		}
	}
	for slow.Pods()[0].Requests() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow pod was not asked within 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling the pod's requests
	}

	for _, tc := range []struct {
		expr, want, retryAfter string
	}{
		{`sum(x{job="slow"})`, "slow: not scraped yet", "1"},
		{`sum(x{job=~"slow|fine"})`, "not scraped yet", "1"},
		{`sum(x{job="failing"})`, "every pod failed", ""},
		{`sum(x{job="unready"})`, "no ready pod", ""},
		{`sum(x{job=~"slow|failing"})`, "every pod failed", ""},
		{`sum(x{job=~"slow|unready"})`, "no ready pod", ""},
	} {
		code, r, ra := askWithHeader(t, base, tc.expr)
		if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, tc.want) || ra != tc.retryAfter {
			t.Errorf("%s: got %d %s %q, Retry-After %q; want 503 unavailable naming %q, Retry-After %q", tc.expr, code, r.ErrorType, r.Error, ra, tc.want, tc.retryAfter)
		}
	}

	close(release)
	for {
		code, r, ra := askWithHeader(t, base, `sum(x{job="slow"})`)
		if code == http.StatusOK {
			if ra != "" {
				t.Errorf("200 with Retry-After %q, want none", ra)
			}
			break
		}
		if !strings.Contains(r.Error, "not scraped yet") || time.Now().After(deadline) {
			t.Fatalf("after the pod answered: got %d %q, want 200 once scraped", code, r.Error)
		}
		time.Sleep(10 * time.Millisecond) // polling the server's state
	}
}

// TestNotScrapedBeforeRunAsksForAnInterval: a Server whose loop has not begun (not Run
// yet) has no scrape under way; its 503 asks for the interval, in whole seconds rounded up.
func TestNotScrapedBeforeRunAsksForAnInterval(t *testing.T) {
	svc := newService(t, "vllm", 1, "x 1\n")
	cfg := serviceConfig(svc)
	cfg.Interval = 6500 * time.Millisecond
	srv, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{cfg}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
	})
	code, r, ra := askWithHeader(t, hs.URL, "x")
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "not scraped yet") || ra != "7" {
		t.Errorf("got %d %q, Retry-After %q; want 503 not scraped yet, Retry-After 7", code, r.Error, ra)
	}
}
