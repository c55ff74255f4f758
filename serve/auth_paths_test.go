package serve_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/podscrape/podscrape/serve"
)

// TestKubernetesAuthServesOnlyThePathReviewed: a client whose token may get only
// /podscrape/api/v1/query (less than deploy/'s reader role) gets nothing else, however
// it spells its request: encoded slashes and dots, dot segments, a ;parameter, a
// trailing slash, upper case, an absolute-form request URI naming another path, Host
// and X-Forwarded-*/X-Original-URL headers, HEAD, OPTIONS, a method in lower case,
// CONNECT, /debug/pprof, and HTTP/2's :path. Each request is sent as written, on a raw
// connection, to serve under WithKubernetesAuth, the API server doing the reviews: the
// query is answered (200) or redirected to its clean path (307), anything else is 403,
// 404 or 405, never another endpoint's answer.
func TestKubernetesAuthServesOnlyThePathReviewed(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	_, h := kubeAuthServer(t, svc)
	hs := httptest.NewUnstartedServer(h)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()

	querier := token(t, svc.Namespace, "querier")
	grant(t, svc.Namespace, "querier", "podscrape-serve-querier-"+svc.Namespace, []string{serve.AuthPathPrefix + "/api/v1/query"}, "get")
	addr := hs.Listener.Addr().String()
	// raw sends request (its line and headers but the token's) on a TLS connection of its
	// own, speaking HTTP/1.1, and returns the answer's status and body.
	raw := func(request string) (int, string) {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) // the test's own server
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		line, rest, _ := strings.Cut(request, "\r\n")
		if _, err := io.WriteString(c, line+"\r\nAuthorization: Bearer "+querier+"\r\n"+rest+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		method, _, _ := strings.Cut(line, " ")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method}) // a HEAD's answer has no body
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The binding takes effect once the API server's authorizer has it; a review made
	// before would be denied, and serve would keep that answer for 30s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:                  "system:serviceaccount:" + svc.Namespace + ":querier",
			Groups:                []string{"system:serviceaccounts", "system:serviceaccounts:" + svc.Namespace, "system:authenticated"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: serve.AuthPathPrefix + "/api/v1/query", Verb: "get"},
		}}
		if err := env.Client.Create(t.Context(), sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the querier's binding not in effect after 30s")
		}
		time.Sleep(20 * time.Millisecond) // polling the API server's authorizer
	}

	for _, tc := range []struct {
		request string
		want    int
	}{
		{"GET /api/v1/query?query=1 HTTP/1.1\r\nHost: serve", http.StatusOK},
		{"GET /api/v1/qu%65ry?query=1 HTTP/1.1\r\nHost: serve", http.StatusOK}, // the same path, encoded
		{"GET //api/v1/query?query=1 HTTP/1.1\r\nHost: serve", http.StatusTemporaryRedirect},
		{"GET /api/v1/./query?query=1 HTTP/1.1\r\nHost: serve", http.StatusTemporaryRedirect},
		{"GET /api/v1/query%2F..%2F..%2F..%2Ffederate?match[]=up HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/query/%2e%2e/targets HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/query/../series?match[]=up HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/query;/../../../federate?match[]=up HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/query;x=1?query=1 HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/query/ HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /API/V1/QUERY?query=1 HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /api/v1/targets HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /metrics HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET /debug/pprof/ HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET https://serve/federate?match[]=up HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"GET https://serve/api/v1/query?query=1 HTTP/1.1\r\nHost: other", http.StatusOK},
		{"GET /federate?match[]=up HTTP/1.1\r\nHost: serve\r\nX-Original-URL: /api/v1/query\r\nX-Rewrite-URL: /api/v1/query\r\nX-Forwarded-Prefix: /api/v1/query", http.StatusForbidden},
		{"GET /api/v1/query?query=1 HTTP/1.1\r\nHost: serve\r\nX-Original-URL: /federate\r\nX-Forwarded-Prefix: /federate", http.StatusOK},
		{"HEAD /api/v1/query?query=1 HTTP/1.1\r\nHost: serve", http.StatusForbidden},              // head is not get
		{"OPTIONS /api/v1/query HTTP/1.1\r\nHost: serve", http.StatusForbidden},                   // nor options
		{"POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Length: 0", http.StatusForbidden}, // nor post
		{"get /api/v1/query?query=1 HTTP/1.1\r\nHost: serve", http.StatusMethodNotAllowed},        // reviewed as get, served as no method
		{"get /federate?match[]=up HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"CONNECT /api/v1/query HTTP/1.1\r\nHost: serve", http.StatusForbidden},
		{"CONNECT /federate HTTP/1.1\r\nHost: serve", http.StatusForbidden},
	} {
		code, body := raw(tc.request)
		line, _, _ := strings.Cut(tc.request, "\r\n")
		if code != tc.want {
			t.Errorf("%q: %d %q, want %d", line, code, firstLine(body), tc.want)
		}
		if code == http.StatusOK && !strings.Contains(body, `"resultType":"scalar"`) {
			t.Errorf("%q: %q, want the query's answer", line, firstLine(body))
		}
	}

	// HTTP/2: the :path is the request's URL, reviewed and served as HTTP/1's.
	client := hs.Client()
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/v1/query?query=1", http.StatusOK},
		{"/api/v1/query%2F..%2F..%2F..%2Ffederate?match[]=up", http.StatusForbidden},
		{"/federate?match[]=up", http.StatusForbidden},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+querier)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s: %s, want HTTP/2", tc.path, resp.Proto)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("HTTP/2 GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}

// firstLine is s up to its first newline, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
