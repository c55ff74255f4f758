package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// gathered returns the series of family name on reg whose labels include want.
func gathered(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) []*dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// value returns the value of the one series of name with labels on reg.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	ms := gathered(t, reg, name, labels)
	if len(ms) != 1 {
		t.Fatalf("%s%v: got %d series, want 1", name, labels, len(ms))
	}
	m := ms[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%s: unexpected metric type", name)
	return 0
}

func TestObservabilityMetricsOfRefreshes(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	f := startService(t,
		podDef{name: "healthy", handler: serve(vllm)},
		podDef{name: "error500", handler: failWith(http.StatusInternalServerError)},
		podDef{name: "garbage", handler: serve([]byte("not an exposition {\n"))},
		podDef{name: "not-ready", handler: serve(vllm), notReady: true},
	)
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.Registerer = reg
	cfg.Clock = clk
	s := newSource(t, cfg)
	svc := map[string]string{"service": f.ns + "/" + f.svc}
	with := func(k, v string) map[string]string { return map[string]string{"service": svc["service"], k: v} }

	// library.md: every reason of both counters is exported from zero, before any
	// failure, so that increase() sees the first one.
	for _, reason := range []string{pod.ReasonTimeout, pod.ReasonCanceled, pod.ReasonHTTPStatus, pod.ReasonRedirect,
		pod.ReasonBodyTooBig, pod.ReasonSampleLimit, pod.ReasonParse, pod.ReasonFormat, pod.ReasonTLS, pod.ReasonConnect} {
		if got := value(t, reg, "podscrape_scrape_failures_total", with("reason", reason)); got != 0 {
			t.Errorf("before any refresh: failures{reason=%q} = %v, want 0", reason, got)
		}
	}
	for _, reason := range []string{"too_far_ahead", "out_of_order", "series_limit"} {
		if got := value(t, reg, "podscrape_history_samples_refused_total", with("reason", reason)); got != 0 {
			t.Errorf("before any refresh: history_samples_refused{reason=%q} = %v, want 0", reason, got)
		}
	}

	clk.SetTime(clk.Now().Add(2 * time.Second))
	if got := value(t, reg, "podscrape_cache_age_seconds", svc); got != 2 {
		t.Fatalf("cache age before any refresh: got %v, want 2 (seconds since the source was made)", got)
	}
	for round := 1; round <= 2; round++ {
		mustRefresh(t, s)
		want := map[string]float64{
			"podscrape_pods_discovered":         4,
			"podscrape_pods_ready":              3,
			"podscrape_scrape_duration_seconds": float64(3 * round), // observations
			"podscrape_samples_scraped_total":   float64(round * sampleLines(vllm)),
			"podscrape_cache_age_seconds":       0,
		}
		for name, w := range want {
			if got := value(t, reg, name, svc); got != w {
				t.Errorf("round %d: %s: got %v, want %v", round, name, got, w)
			}
		}
		for _, reason := range []string{pod.ReasonHTTPStatus, pod.ReasonParse} {
			if got := value(t, reg, "podscrape_scrape_failures_total", with("reason", reason)); got != float64(round) {
				t.Errorf("round %d: failures{reason=%q}: got %v, want %d", round, reason, got, round)
			}
		}
		for _, reason := range []string{pod.ReasonTimeout, pod.ReasonCanceled, pod.ReasonConnect, pod.ReasonBodyTooBig} {
			if got := value(t, reg, "podscrape_scrape_failures_total", with("reason", reason)); got != 0 {
				t.Errorf("round %d: failures{reason=%q}: got %v, want 0", round, reason, got)
			}
		}
		clk.SetTime(clk.Now().Add(7 * time.Second))
		if got := value(t, reg, "podscrape_cache_age_seconds", svc); got != 7 {
			t.Errorf("round %d: cache age 7s after the refresh: got %v, want 7", round, got)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) != 0 {
		t.Fatalf("metric lint: got %v %v, want no problems", problems, err)
	}
}

func TestObservabilitySourcesShareARegistry(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	reg := prometheus.NewRegistry()
	cfg := func(svc string, r prometheus.Registerer) pod.PodScrapingSourceConfig {
		return pod.PodScrapingSourceConfig{ServiceName: svc, ServiceNamespace: ns, MetricsPort: 9090, Registerer: r}
	}
	first := newSource(t, cfg("a", reg))
	before, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}

	// A second source of a while the first lives (a replacement built before the one it
	// replaces is closed, a second controller's) shares a's metrics: no series is added,
	// and its Close leaves them to the first.
	second, err := pod.NewPodScrapingSource(context.Background(), cp.Client, cfg("a", reg))
	if err != nil {
		t.Fatalf("a second source of service a: %v", err)
	}
	if after, _ := testutil.GatherAndCount(reg); after != before {
		t.Fatalf("series with a second source of a: got %d, want the %d before (shared)", after, before)
	}
	second.Close()
	if after, _ := testutil.GatherAndCount(reg); after != before {
		t.Fatalf("series once the second source of a is closed: got %d, want the %d before (the first's)", after, before)
	}

	newSource(t, cfg("b", reg))
	if got := len(gathered(t, reg, "podscrape_pods_ready", nil)); got != 2 {
		t.Fatalf("podscrape_pods_ready series: got %d, want 2 (services a and b)", got)
	}
	first.Close() // its last source: unregisters a's metrics
	if got := len(gathered(t, reg, "podscrape_pods_ready", map[string]string{"service": ns + "/a"})); got != 0 {
		t.Fatalf("podscrape_pods_ready of a after Close: got %d series, want 0", got)
	}
	newSource(t, cfg("a", reg))
	// Closing the first source again (a deferred Close after an explicit one) must not
	// take the replacement's metrics: the Registerer unregisters by descriptor, not by
	// collector, so a second unregistration would remove the replacement's.
	first.Close()
	if got := len(gathered(t, reg, "podscrape_pods_ready", map[string]string{"service": ns + "/a"})); got != 1 {
		t.Fatalf("podscrape_pods_ready of a's replacement after the first source's second Close: got %d series, want 1", got)
	}
	other := prometheus.NewRegistry() // no state outside a Registerer
	newSource(t, cfg("a", other))
	if got := len(gathered(t, other, "podscrape_pods_ready", map[string]string{"service": ns + "/a"})); got != 1 {
		t.Fatalf("podscrape_pods_ready of a on another registry: got %d series, want 1", got)
	}
}

func TestObservabilityPodFailuresLoggedAtV1(t *testing.T) {
	t.Parallel()
	f := startService(t,
		podDef{name: "healthy", handler: serve([]byte("m 1\n"))},
		podDef{name: "error500", handler: failWith(http.StatusInternalServerError)},
	)
	s := newSource(t, f.config())
	for verbosity, wantLines := range map[int]int{0: 0, 1: 1} {
		var logs logBuffer
		ctx, cancel := context.WithTimeout(logr.NewContext(context.Background(), logs.logger(verbosity)), 30*time.Second)
		if _, err := s.Refresh(ctx, source.RefreshSpec{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		var lines []string
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg"="pod scrape failed"`) {
				lines = append(lines, line)
			}
		}
		if len(lines) != wantLines {
			t.Fatalf("verbosity %d: got %d failure lines, want %d:\n%s", verbosity, len(lines), wantLines, logs.String())
		}
		for _, line := range lines {
			for _, want := range []string{`"level"=1`, `"pod"="` + f.ns + `/error500"`, `"reason"="http_status"`, `"service"="` + f.ns + `/metrics"`} {
				if !strings.Contains(line, want) {
					t.Fatalf("log line %s: want %s", line, want)
				}
			}
		}
	}
}

// A discovery that fails (the list Forbidden once the source's RoleBinding is gone, the
// Service deleted) scrapes no pod: podscrape_pods_discovered and podscrape_pods_ready
// kept the last good discovery's values, and nothing counted the failures, so an alert
// on podscrape_pods_ready == 0 could not see a deleted Service. Each failed discovery is
// counted in podscrape_discovery_failures_total (exported from zero) and sets both
// gauges to 0; the next good discovery sets them again.
func TestObservabilityDiscoveryFailures(t *testing.T) {
	t.Parallel()
	m := []byte("m 1\n")
	f := startService(t,
		podDef{name: "a", handler: serve(m)},
		podDef{name: "b", handler: serve(m)},
		podDef{name: "starting", handler: serve(m), notReady: true},
	)
	ctx := context.Background()
	user := "discovery-metrics-" + f.ns
	userCfg, err := cp.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: user}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
	}}
	binding := func() *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		}
	}
	for _, obj := range []client.Object{role, binding()} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(userCfg, client.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.Registerer = reg
	s := sourceOn(t, c, cfg)
	svc := map[string]string{"service": f.ns + "/" + f.svc}
	check := func(when string, discovered, ready, failures float64) {
		t.Helper()
		for name, want := range map[string]float64{
			"podscrape_pods_discovered":          discovered,
			"podscrape_pods_ready":               ready,
			"podscrape_discovery_failures_total": failures,
		} {
			if got := value(t, reg, name, svc); got != want {
				t.Errorf("%s: %s = %v, want %v", when, name, got, want)
			}
		}
	}
	// until refreshes until ok says the error is the one awaited (RBAC takes effect a
	// few milliseconds after the write) and returns how many failed on the way.
	until := func(what string, ok func(error) bool) (failed int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := refresh(t, s)
			if ok(err) {
				if err != nil {
					failed++
				}
				return failed
			}
			if err != nil {
				failed++
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Refresh still %v after 30s", what, err)
			}
			time.Sleep(20 * time.Millisecond) // polling the authorizer, not waiting for time to pass
		}
	}

	// The RBAC in effect (its first review may come before the binding is seen).
	failures := float64(until("granted", func(err error) bool { return err == nil }))
	check("discovered", 3, 2, failures)

	if err := cp.Client.Delete(ctx, binding()); err != nil {
		t.Fatal(err)
	}
	failures += float64(until("binding deleted", func(err error) bool { return apierrors.IsForbidden(errors.Unwrap(err)) }))
	check("forbidden", 0, 0, failures)

	if err := cp.Client.Create(ctx, binding()); err != nil {
		t.Fatal(err)
	}
	failures += float64(until("granted again", func(err error) bool { return err == nil }))
	check("granted again", 3, 2, failures)

	if err := cp.Client.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.svc}}); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(t, s); !apierrors.IsNotFound(errors.Unwrap(err)) {
		t.Fatalf("Service deleted: Refresh error %v, want not found", err)
	}
	check("service deleted", 0, 0, failures+1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) != 0 {
		t.Fatalf("metric lint: got %v %v, want no problems", problems, err)
	}
}
