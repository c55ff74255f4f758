package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestAPodOfTwoServicesIsScrapedForEach: two Services of the config selecting the same
// pods are two scrape jobs, as in Prometheus: each pod's series are in the union once
// per Service, told apart by job, so a sum over both counts them twice (docs/serve.md
// says so, and to give autoscalers' queries a job matcher); and a Service of the same
// name in another namespace, its pod failing, is told apart by namespace, and named by
// it in the 503 of a query that reads it.
func TestAPodOfTwoServicesIsScrapedForEach(t *testing.T) {
	vllm := newService(t, "vllm", 2, waiting)
	// A second Service over the same pods (a headless one beside it, say).
	headless, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Namespace: vllm.Namespace, Name: "vllm-headless", Labels: map[string]string{"app": "vllm"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = headless.Close() })
	other := newService(t, "vllm", 1, waiting) // another namespace's, failing
	other.Pods()[0].SetHandler(failing)
	second := serviceConfig(vllm)
	second.Source.ServiceName = headless.Name
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(vllm), second, serviceConfig(other)}, MaxAge: time.Nanosecond})

	sum := func(expr string) string {
		t.Helper()
		code, r := query(t, base, expr)
		v := vector(t, r)
		if code != http.StatusOK || len(v) != 1 {
			t.Fatalf("%s: got %d %q %s, want 200 and one sample", expr, code, r.Error, r.Data)
		}
		return v[0].Value[1].(string)
	}
	ns := `namespace="` + vllm.Namespace + `"`
	for _, tc := range []struct{ expr, want string }{
		{`sum(vllm:num_requests_waiting{` + ns + `,job="vllm"})`, "6"},
		{`sum(vllm:num_requests_waiting{` + ns + `,job="vllm-headless"})`, "6"},
		{`sum(vllm:num_requests_waiting{` + ns + `})`, "12"}, // each pod twice
		{`count(count by (pod) (vllm:num_requests_waiting{` + ns + `}))`, "2"},
	} {
		if got := sum(tc.expr); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.expr, got, tc.want)
		}
	}
	// job="vllm" alone reads the other namespace's Service too: 503, naming it by namespace.
	code, r := query(t, base, `sum(vllm:num_requests_waiting{job="vllm"})`)
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "service "+other.Namespace+"/vllm: ") || strings.Contains(r.Error, vllm.Namespace) {
		t.Errorf(`job="vllm" with %s/vllm failing: got %d %q, want 503 naming %s/vllm alone`, other.Namespace, code, r.Error, other.Namespace)
	}
}
