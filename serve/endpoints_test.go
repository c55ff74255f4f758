package serve_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

const twoFamilies = `# HELP vllm:num_requests_waiting Requests waiting.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m",namespace="exposed",job="exp"} 3
# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total 10
`

func TestSeriesLabelsAndValues(t *testing.T) {
	svc := newService(t, "vllm", 2, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	code, r := call(t, http.MethodGet, base, "/api/v1/series", url.Values{"match[]": {"vllm:num_requests_waiting"}})
	if code != http.StatusOK {
		t.Fatalf("series: %d %q", code, r.Error)
	}
	var series []map[string]string
	if err := json.Unmarshal(r.Data, &series); err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 {
		t.Fatalf("series: got %v, want one per pod", series)
	}
	want := map[string]string{
		"__name__": "vllm:num_requests_waiting", "model_name": "m", "job": "vllm", "namespace": svc.Namespace,
		"exported_namespace": "exposed", "exported_job": "exp", "pod": svc.Pods()[0].Name,
		"instance": instanceOf(t, svc.Pods()[0]),
	}
	for k, v := range want {
		if series[0][k] != v {
			t.Errorf("series[0][%s] = %q, want %q (%v)", k, series[0][k], v, series[0])
		}
	}

	code, r = call(t, http.MethodGet, base, "/api/v1/series", nil)
	if code != http.StatusBadRequest || r.Error != "no match[] parameter provided" {
		t.Errorf("series without match[]: got %d %q, want 400 as Prometheus", code, r.Error)
	}

	_, r = call(t, http.MethodPost, base, "/api/v1/labels", nil)
	var names []string
	if err := json.Unmarshal(r.Data, &names); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"__name__", "exported_job", "job", "model_name", "namespace", "pod"} {
		if !slices.Contains(names, n) {
			t.Errorf("labels %v lack %s", names, n)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("labels %v are not sorted", names)
	}

	_, r = call(t, http.MethodGet, base, "/api/v1/label/__name__/values", nil)
	var values []string
	if err := json.Unmarshal(r.Data, &values); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"reqs_total", "scrape_duration_seconds", "scrape_samples_scraped", "up", "vllm:num_requests_waiting"} {
		if !slices.Contains(values, n) {
			t.Errorf("__name__ values %v lack %s", values, n)
		}
	}
	_, r = call(t, http.MethodGet, base, "/api/v1/label/pod/values", url.Values{"match[]": {`up{pod="` + svc.Pods()[1].Name + `"}`}})
	if string(r.Data) != `["`+svc.Pods()[1].Name+`"]` {
		t.Errorf("pod values of one pod's up: %s", r.Data)
	}
}

func TestMetadata(t *testing.T) {
	svc := newService(t, "vllm", 1, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	_, r := call(t, http.MethodGet, base, "/api/v1/metadata", nil)
	var md map[string][]struct{ Type, Help, Unit string }
	if err := json.Unmarshal(r.Data, &md); err != nil {
		t.Fatal(err)
	}
	if got := md["reqs_total"]; len(got) != 1 || got[0].Type != "counter" || got[0].Help != "Requests." {
		t.Errorf("metadata of reqs_total: %+v", got)
	}
	_, r = call(t, http.MethodGet, base, "/api/v1/metadata", url.Values{"metric": {"vllm:num_requests_waiting"}})
	var one map[string][]struct{ Type, Help, Unit string }
	if err := json.Unmarshal(r.Data, &one); err != nil || len(one) != 1 {
		t.Errorf("metadata?metric=: %s", r.Data)
	}
}

func TestTargets(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	bad := svc.Pods()[1]
	bad.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	_, r := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	var d struct {
		ActiveTargets []struct {
			Labels             map[string]string `json:"labels"`
			ScrapePool         string            `json:"scrapePool"`
			ScrapeURL          string            `json:"scrapeUrl"`
			Health             string            `json:"health"`
			LastError          string            `json:"lastError"`
			LastScrape         string            `json:"lastScrape"`
			LastScrapeDuration float64           `json:"lastScrapeDuration"`
		} `json:"activeTargets"`
		DroppedTargets []any `json:"droppedTargets"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.ActiveTargets) != 2 || d.DroppedTargets == nil {
		t.Fatalf("targets %s, want 2 active and an empty dropped list", r.Data)
	}
	good, down := d.ActiveTargets[0], d.ActiveTargets[1]
	if good.Health != "up" || good.LastError != "" || good.Labels["pod"] != svc.Pods()[0].Name || good.Labels["job"] != "vllm" || good.LastScrape == "" || good.ScrapePool != svc.Namespace+"/vllm" {
		t.Errorf("healthy target %+v", good)
	}
	if want := svc.Pods()[0].URL() + "/metrics"; good.ScrapeURL != want || good.Labels["instance"] != instanceOf(t, svc.Pods()[0]) {
		t.Errorf("healthy target: scrapeUrl %q, instance %q; want %q and the pod's address", good.ScrapeURL, good.Labels["instance"], want)
	}
	if down.Health != "down" || !strings.Contains(down.LastError, "500") || !strings.Contains(down.ScrapeURL, "/metrics") {
		t.Errorf("failed target %+v, want down with its error and URL", down)
	}
}

func TestFederate(t *testing.T) {
	svc := newService(t, "vllm", 1, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	resp, err := http.Get(base + "/federate?" + url.Values{"match[]": {"reqs_total", "up"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{"# TYPE reqs_total untyped\n", `reqs_total{instance="` + instanceOf(t, svc.Pods()[0]) + `",job="vllm",namespace="` + svc.Namespace + `",pod="` + svc.Pods()[0].Name + `"} 10 `, "# TYPE up untyped\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("federate body lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "vllm:num_requests_waiting") {
		t.Errorf("federate body has a series no match[] selects:\n%s", text)
	}
}

func TestReadyAfterFirstScrape(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rec := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		w := &statusRecorder{header: http.Header{}}
		srv.Handler().ServeHTTP(w, req)
		return w.code
	}
	if got := rec("/-/ready"); got != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before a scrape: %d, want 503", got)
	}
	if got := rec("/-/healthy"); got != http.StatusOK {
		t.Errorf("/-/healthy: %d, want 200", got)
	}
}

type statusRecorder struct {
	header http.Header
	code   int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(code int) { r.code = code }

func TestBuildInfoAndMetrics(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Version: "v9.9.9"})
	_, r := call(t, http.MethodGet, base, "/api/v1/status/buildinfo", nil)
	if !strings.Contains(string(r.Data), `"version":"v9.9.9"`) || !strings.Contains(string(r.Data), `"goVersion":"go`) {
		t.Errorf("buildinfo %s", r.Data)
	}
	if _, r := call(t, http.MethodGet, base, "/api/v1/query_exemplars", url.Values{"query": {"up"}}); r.Status != "success" || string(r.Data) != "[]" {
		t.Errorf("query_exemplars: %+v, want success and no exemplars", r)
	}
	query(t, base, "up")
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`podscrape_serve_scrapes_total{service="` + svc.Namespace + `/vllm"} 1`,
		`podscrape_serve_queries_total{endpoint="query",error_type=""} 1`,
		`podscrape_scrape_duration_seconds_count{service="` + svc.Namespace + `/vllm"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestPodLabelsAndConfigFile(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, "services:\n- name: %s\n  port: %d\n  interval: 4m\n  podLabels: [app]\n", svc.Name, svc.Port), 0o600); err != nil {
		t.Fatal(err)
	}
	services, err := serve.LoadFile(path, svc.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	// The Service's own interval (4m) wins over the server's (3m).
	base := startServer(t, serve.Config{Services: services, Interval: 3 * time.Minute})
	_, r := query(t, base, "vllm:num_requests_waiting")
	if got := vector(t, r); len(got) != 1 || got[0].Metric["app"] != "vllm" {
		t.Errorf("got %+v, want the pod label app=vllm on the series", got)
	}
	_, r = call(t, http.MethodGet, base, "/api/v1/targets", nil)
	if !strings.Contains(string(r.Data), `"app":"vllm"`) {
		t.Errorf("targets %s lack the pod label", r.Data)
	}
	if !strings.Contains(string(r.Data), `"scrapeInterval":"4m"`) {
		t.Errorf("targets %s: want scrapeInterval 4m, the file's", r.Data)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"services:\n- port: 80\n", "name is required"},
		{"services:\n- name: a\n", "port 0 is outside 1-65535"},
		{"services:\n- name: a\n  port: 80\n  intervl: 5s\n", "unknown field"},
		{"services:\n- name: a\n  port: 80\n  interval: soon\n", "soon"},
		{"services: []\n", "no services"},
		{"- name: a\n  port: 80\n  secret: s\n  tokenFile: t\n", "mutually exclusive"},
	} {
		path := filepath.Join(dir, "f.yaml")
		if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := serve.LoadFile(path, "ns")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: got %v, want an error naming the file and saying %q", tc.yaml, err, tc.want)
		}
	}
}

// instanceOf is a pod's instance label, <IP>:<port>, as Prometheus' pod discovery writes it.
func instanceOf(t *testing.T, p *podscrapetest.Pod) string {
	t.Helper()
	u, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
