package serve_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/serve"
)

// A Service whose discovery fails after it had pods (here its Service was deleted; a
// token Secret that cannot be used fails alike) keeps its last pods in /api/v1/targets,
// each down with the error its queries' 503 gives, as Prometheus keeps the targets its
// discovery last gave; a Service that never had pods (its Secret unusable from the
// start) has none.
func TestTargetsOfAFailedServiceAreItsLastPodsDown(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	never := newService(t, "epp", 1, waiting)
	if err := env.Client.Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: never.Namespace, Name: "reader"},
		Data:       map[string][]byte{"token": []byte("abc\x01def")},
	}); err != nil {
		t.Fatal(err)
	}
	neverCfg := serviceConfig(never)
	neverCfg.Source.MetricsReaderSecretName = "reader"
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc), neverCfg}, MaxAge: time.Nanosecond})

	if err := env.Client.Delete(t.Context(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name}}); err != nil {
		t.Fatal(err)
	}
	var d struct {
		ActiveTargets []struct {
			Labels     map[string]string `json:"labels"`
			ScrapeURL  string            `json:"scrapeUrl"`
			Health     string            `json:"health"`
			LastError  string            `json:"lastError"`
			LastScrape time.Time         `json:"lastScrape"`
		} `json:"activeTargets"`
	}
	// Twice: the second failed scrape keeps what the first kept.
	for i := range 2 {
		code, qr := query(t, base, `up{namespace="`+svc.Namespace+`"}`) // scrapes it (MaxAge)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("after the Service was deleted: got %d %s, want 503", code, qr.Data)
		}
		_, r := call(t, http.MethodGet, base, "/api/v1/targets", url.Values{"scrapePool": {svc.Namespace + "/vllm"}})
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		var pods []string
		for _, tg := range d.ActiveTargets {
			pods = append(pods, tg.Labels["pod"])
			if tg.Health != "down" || tg.LastError == "" || !strings.Contains(qr.Error, tg.LastError) || tg.ScrapeURL == "" || tg.LastScrape.IsZero() {
				t.Errorf("failed scrape #%d: target %+v: want down, with the error of the query's 503 (%q), its URL and the failed scrape's time", i+1, tg, qr.Error)
			}
		}
		if want := []string{svc.Pods()[0].Name, svc.Pods()[1].Name}; !slices.Equal(pods, want) {
			t.Errorf("failed scrape #%d: targets of the Service: pods %q, want its last pods %q: %s", i+1, pods, want, r.Data)
		}
	}

	_, r := call(t, http.MethodGet, base, "/api/v1/targets", url.Values{"scrapePool": {never.Namespace + "/epp"}})
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.ActiveTargets) != 0 {
		t.Errorf("targets of a Service that never listed pods: %s, want none", r.Data)
	}
}

// TestTargetsScrapeURLKeepsTheMetricsPathsQuery: a MetricsPath with a query (a pod that
// serves its metrics at /metrics?format=prometheus) is scraped with the query, and a
// target that failed showed it so; a healthy target showed /metrics%3Fformat=prometheus,
// a URL that asks for another path. Its discovered __metrics_path__ is the path, the
// query in __param_ labels, as Prometheus writes a scrape config's params.
func TestTargetsScrapeURLKeepsTheMetricsPathsQuery(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	cfg := serviceConfig(svc)
	cfg.Source.MetricsPath = "/metrics?format=prometheus"
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{cfg}})
	_, r := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	var d struct {
		ActiveTargets []struct {
			DiscoveredLabels map[string]string `json:"discoveredLabels"`
			ScrapeURL        string            `json:"scrapeUrl"`
			Health           string            `json:"health"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.ActiveTargets) != 1 {
		t.Fatalf("targets %s, want one", r.Data)
	}
	tg := d.ActiveTargets[0]
	if want := svc.Pods()[0].URL() + "/metrics?format=prometheus"; tg.Health != "up" || tg.ScrapeURL != want {
		t.Errorf("target: health %s, scrapeUrl %q; want up and %q", tg.Health, tg.ScrapeURL, want)
	}
	if got := tg.DiscoveredLabels; got["__metrics_path__"] != "/metrics" || got["__param_format"] != "prometheus" {
		t.Errorf("discoveredLabels %v, want __metrics_path__ /metrics and __param_format prometheus", got)
	}
}

// TestTargetsOfAServiceWithNoReadyPodAreNone: pods that are not Ready are not targets,
// also when none of the Service's pods is Ready (a readiness outage under load, a
// rollout between its old pod's end and its new pod's readiness): /api/v1/targets lists
// none of them, as it lists no such pod beside Ready ones, and as Prometheus' pod-role
// job keeping Ready pods lists none. It listed the pods of the last scrape that had
// some, each down with "no ready pod" and a lastScrape of a scrape that read none of
// them, as though discovery had failed, for as long as no pod was Ready.
func TestTargetsOfAServiceWithNoReadyPodAreNone(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	targets := func() []string {
		t.Helper()
		_, r := call(t, http.MethodGet, base, "/api/v1/targets", nil)
		var d struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
				Health string            `json:"health"`
			} `json:"activeTargets"`
		}
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tg := range d.ActiveTargets {
			out = append(out, tg.Labels["pod"]+" "+tg.Health)
		}
		return out
	}
	if got := targets(); len(got) != 2 {
		t.Fatalf("healthy: targets %q, want both pods", got)
	}
	// One pod not Ready: it is no target.
	if err := svc.Pods()[0].SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, "vllm:num_requests_waiting"); code != http.StatusOK {
		t.Fatalf("one pod not Ready: %d %q", code, r.Error)
	}
	if got, want := targets(), []string{svc.Pods()[1].Name + " up"}; !slices.Equal(got, want) {
		t.Fatalf("one pod not Ready: targets %q, want %q", got, want)
	}
	// Neither Ready: neither is a target.
	if err := svc.Pods()[1].SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // twice: a second such scrape keeps nothing of the first
		if code, r := query(t, base, "vllm:num_requests_waiting"); code != http.StatusServiceUnavailable {
			t.Fatalf("no pod Ready, scrape #%d: %d %q, want 503", i+1, code, r.Error)
		}
		if got := targets(); len(got) != 0 {
			t.Errorf("no pod Ready, scrape #%d: targets %q, want none (pods that are not Ready are not targets)", i+1, got)
		}
	}
}

// TestTargetsAreInScrapePoolOrder: Prometheus lists the active targets pool by pool, the
// pools sorted by name (getSortedPools); serve listed them in the order of its config,
// so a client reading the targets of a pool as Prometheus orders them (Grafana's and
// promtool's tables, a script taking the first) got another order than Prometheus'
// for the same Services.
func TestTargetsAreInScrapePoolOrder(t *testing.T) {
	a, b := newService(t, "vllm", 1, waiting), newService(t, "vllm", 1, waiting)
	cfgs := []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)}
	// The config lists them in reverse order of their pools' names.
	slices.SortFunc(cfgs, func(x, y serve.ServiceConfig) int {
		return strings.Compare(y.Source.ServiceNamespace, x.Source.ServiceNamespace)
	})
	base := startServer(t, serve.Config{Services: cfgs})
	_, r := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	var d struct {
		ActiveTargets []struct {
			ScrapePool string `json:"scrapePool"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	var pools []string
	for _, tg := range d.ActiveTargets {
		pools = append(pools, tg.ScrapePool)
	}
	if len(pools) != 2 || !slices.IsSorted(pools) {
		t.Errorf("targets' pools in the order %q, want one target of each, the pools sorted as Prometheus sorts them", pools)
	}
}
