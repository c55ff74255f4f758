package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// getJSON asks u and decodes Prometheus' envelope.
func getJSON(t *testing.T, u string) (int, struct {
	Data     json.RawMessage
	Error    string
	Warnings []string
}) {
	t.Helper()
	var e struct {
		Data     json.RawMessage
		Error    string
		Warnings []string
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(body, &e) // a 401 of the auth filter is plain text
	return resp.StatusCode, e
}

// TestServeAuthFlag: --auth kubernetes puts the TokenReview filter in front of the API
// (a request without a token: 401), the probes stay open.
func TestServeAuthFlag(t *testing.T) {
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes")
	if code, _ := getJSON(t, base+"/api/v1/query?query=1"); code != http.StatusUnauthorized {
		t.Errorf("--auth kubernetes, no token: %d, want 401", code)
	}
	if code, _ := getJSON(t, base+"/-/healthy"); code != http.StatusOK {
		t.Errorf("--auth kubernetes, /-/healthy: %d, want 200 (probes carry no token)", code)
	}
}

// TestServeAuthTokenAudiencesFlag: with --auth-token-audiences podscrape, a token minted
// for audience podscrape is authenticated (its ServiceAccount, bound to nothing, gets
// 403) and a token for the API server is refused (401).
func TestServeAuthTokenAudiencesFlag(t *testing.T) {
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes",
		"--auth-token-audiences", "podscrape")
	ctx := logr.NewContext(t.Context(), logr.Discard()) // no V(8) log of the tokens
	apiToken, err := cp.ServiceAccountToken(ctx, llmd.Namespace, "audience-test")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(llmd.Namespace).CreateToken(ctx, "audience-test",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"podscrape"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"a token for audience podscrape", tr.Status.Token, http.StatusForbidden},
		{"a token for the API server", apiToken, http.StatusUnauthorized},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v1/query?query=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// TestServeMaxAgeAndPartialWindowFlags: --max-age makes a query scrape first (the
// targets' lastScrape moves though --interval is an hour), --allow-partial-windows turns
// the 422 of an increase() longer than the history into a warning (a window is partial
// when it starts more than an interval before the first scrape: 3h, with --interval 1h).
func TestServeMaxAgeAndPartialWindowFlags(t *testing.T) {
	lastScrape := func(base string) string {
		_, e := getJSON(t, base+"/api/v1/targets")
		var d struct {
			ActiveTargets []struct{ LastScrape string } `json:"activeTargets"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil || len(d.ActiveTargets) == 0 {
			t.Fatalf("targets %s: %v", e.Data, err)
		}
		return d.ActiveTargets[0].LastScrape
	}
	increase := "/api/v1/query?" + url.Values{"query": {"sum(increase(vllm:generation_tokens_total[3h]))"}}.Encode()
	waitReady := func(base string) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if code, _ := getJSON(t, base+"/-/ready"); code == http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("serve not ready in 30s")
			}
			time.Sleep(20 * time.Millisecond) // polling readiness
		}
	}

	strict := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m")
	waitReady(strict)
	if code, e := getJSON(t, strict+increase); code != http.StatusUnprocessableEntity {
		t.Errorf("increase over 3h without --allow-partial-windows: %d %q, want 422", code, e.Error)
	}
	before := lastScrape(strict)
	getJSON(t, strict+"/api/v1/query?query=vllm:num_requests_waiting")
	if after := lastScrape(strict); after != before {
		t.Errorf("without --max-age a query scraped: lastScrape %s, then %s", before, after)
	}

	fresh := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "1h", "--max-age", "1ns", "--allow-partial-windows")
	waitReady(fresh)
	if code, e := getJSON(t, fresh+increase); code != http.StatusOK || !strings.Contains(strings.Join(e.Warnings, " "), "3h") {
		t.Errorf("increase over 3h with --allow-partial-windows: %d %q warnings %q, want 200 with a warning naming the window", code, e.Error, e.Warnings)
	}
	before = lastScrape(fresh)
	getJSON(t, fresh+"/api/v1/query?query=vllm:num_requests_waiting")
	if after := lastScrape(fresh); after == before {
		t.Errorf("with --max-age 1ns a query did not scrape: lastScrape stayed %s", before)
	}
}

// TestServeLogsErrorsAtVerbosityZero: at -v 0 the command logs nothing, yet serve's auth
// must still say why it answered a client 500; with -v, the command's logger serves.
func TestServeLogsErrorsAtVerbosityZero(t *testing.T) {
	var stderr bytes.Buffer
	log := errorLog(ctrllog.IntoContext(context.Background(), logr.Discard()), &stderr)
	log.V(4).Info("denied")
	log.Info("routine")
	log.Error(errors.New("tokenreviews is forbidden"), "TokenReview failed")
	if out := stderr.String(); !strings.Contains(out, "tokenreviews is forbidden") || strings.Contains(out, "denied") || strings.Contains(out, "routine") {
		t.Errorf("-v 0: stderr %q, want the error alone", out)
	}
	var ownOut, stderr2 bytes.Buffer
	own := funcr.New(func(prefix, args string) { ownOut.WriteString(args) }, funcr.Options{Verbosity: 1})
	errorLog(ctrllog.IntoContext(context.Background(), own), &stderr2).V(1).Info("routine")
	if !strings.Contains(ownOut.String(), "routine") || stderr2.Len() != 0 {
		t.Errorf("with -v: the command's logger got %q, stderr %q; want the command's logger used", ownOut.String(), stderr2.String())
	}
}

// TestServeHelpSaysItsTimeoutDefault: serve's --timeout defaults to 5s capped at
// --interval, as Prometheus' scrape_timeout; its help says so, not scrape's plain 5s.
func TestServeHelpSaysItsTimeoutDefault(t *testing.T) {
	t.Parallel()
	r := podscrape(t, "serve", "--help")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "--timeout duration") {
			if strings.Contains(line, "(default 5s)") || !strings.Contains(line, "or --interval when shorter") {
				t.Errorf("serve --help: %q, want the default capped at --interval", line)
			}
			return
		}
	}
	t.Fatalf("serve --help lists no --timeout:\n%s", r.stdout)
}
