package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// tokenEchoes records the Authorization header each pod got and puts it where the
// command would quote it: in the body (a parse error quotes the line) or in a redirect's
// Location (the redirect error names it).
type tokenEchoes struct {
	mu   sync.Mutex // protects seen
	seen []string
}

func (e *tokenEchoes) handler(where string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		e.mu.Lock()
		e.seen = append(e.seen, auth)
		e.mu.Unlock()
		if where == "location" {
			http.Redirect(w, r, "http://"+r.Host+"/login?auth="+strings.TrimPrefix(auth, "Bearer "), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(auth + "\n"))
	})
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

// TestTokenFromSecretNeverPrinted reads the token from a Secret at the highest log level
// and scrapes pods that echo it back: in no output format does any part of it show, on
// stdout or stderr.
func TestTokenFromSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const token = "cli-leak-canary-5e8d2a7c9b1f3064"
	ns := unique("token-leak")
	ctx := context.Background()
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := cp.CreateTokenSecret(ctx, ns, "reader", "token", token); err != nil {
		t.Fatal(err)
	}
	echoes := &tokenEchoes{}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next(), block.Next()}
	handlers := map[string]http.Handler{
		ips[0]: echoes.handler("body"),
		ips[1]: echoes.handler("location"),
		ips[2]: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("m 1\n"))
		}),
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler { return handlers[ip] })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	sel := map[string]string{"app": "echo"}
	metricsPort := int32(servers[0].Port)
	if err := cp.CreateService(ctx, ns, "echo", sel, metricsPort); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"echo-body", "echo-location", "healthy"} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ips[i], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}

	var redacted bool
	for _, format := range []string{"table", "wide", "json", "prom"} {
		r := podscrape(t, "-v", "10", "-n", ns, "scrape", "echo", "--port", port(metricsPort), "--secret", "reader", "-o", format)
		out := r.stdout + r.stderr
		if r.code == exitUsage || !strings.Contains(out, "echo-body") {
			t.Fatalf("-o %s: exit %d; want the scrape to run and report pod echo-body:\n%s", format, r.code, out)
		}
		if showsToken(out, token) {
			t.Fatalf("-o %s: the token shows in the output:\n%s", format, out)
		}
		redacted = redacted || strings.Contains(out, "[REDACTED]")
	}
	echoes.mu.Lock()
	defer echoes.mu.Unlock()
	if len(echoes.seen) == 0 || echoes.seen[0] != "Bearer "+token {
		t.Fatalf("the echoing pods got %q, want the token (else this test proves nothing)", echoes.seen)
	}
	if !redacted {
		t.Fatal("no output showed [REDACTED]: the echoed token never reached an error, so this test proves nothing")
	}
}
