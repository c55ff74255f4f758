package serve

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestPrometheusFederatesTwoServes is the path past one replica: two serve processes,
// each with its own Services, and the real Prometheus server federating both through
// /federate into one place, where their series are queried together.
func TestPrometheusFederatesTwoServes(t *testing.T) {
	vllm := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2, Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n"})
	sglang := newService(t, podscrapetest.ServiceOptions{Name: "sglang", Pods: 1, Body: "# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs 5\n"})
	bin := buildPodscrape(t)
	a := startServeProcess(t, bin, vllm)
	b := startServeProcess(t, bin, sglang)
	ua, _ := url.Parse(a)
	ub, _ := url.Parse(b)
	prom := startPrometheus(t, federationConfig(ua.Host, ub.Host))

	deadline := time.Now().Add(time.Minute)
	for {
		v, _, _, err := prom.API.Query(t.Context(), `sum by (job, namespace) (vllm:num_requests_waiting or sglang:num_queue_reqs)`, time.Now())
		got := map[string]float64{}
		if err == nil {
			for _, s := range v.(model.Vector) {
				got[string(s.Metric["job"])+" "+string(s.Metric["namespace"])] = float64(s.Value)
			}
		}
		want := map[string]float64{"vllm " + vllm.Namespace: 6, "sglang " + sglang.Namespace: 5}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("federated sums: got %v (%v), want %v", got, err, want)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus' answer
	}
	// Per pod, with serve's labels kept (honor_labels).
	v, _, _, err := prom.API.Query(t.Context(), `count by (pod) (vllm:num_requests_waiting{job="vllm"})`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.(model.Vector)); n != 2 {
		t.Errorf("federated vllm pods: %d, want 2: %v", n, v)
	}
}

// buildPodscrape builds cmd/podscrape into the test's directory.
func buildPodscrape(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "podscrape")
	build := exec.Command(filepath.Join(goruntime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/podscrape")
	build.Dir, build.Stderr = repoRoot(t), os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build ./cmd/podscrape: %v", err)
	}
	return bin
}

// startServeProcess runs `podscrape serve` over svc as a process of its own until the
// test ends, and returns its URL once it is ready.
func startServeProcess(t *testing.T, bin string, svc *podscrapetest.Service) string {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "serve", svc.Name, "--port", fmt.Sprint(svc.Port),
		"--interval", "1s", "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(stderr)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("podscrape serve: %v (last line %q)", err, line)
		}
		if _, rest, ok := strings.Cut(line, " on http://"); ok {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			base := "http://" + strings.Fields(rest)[0]
			waitReady(t, base)
			return base
		}
	}
}

// TestPrometheusFederatesUTF8Names federates, with the real Prometheus server's default
// scrape protocols (which ask for escaping=allow-utf-8), a series whose label name only
// the UTF-8 scheme allows beside its legacy look-alike: the federating server must get
// both labels as serve holds them, as it gets them from a federated Prometheus. Escaped
// with underscores, "model.name" became a second model_name, and Prometheus failed the
// whole scrape on the duplicate label.
func TestPrometheusFederatesUTF8Names(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: `# TYPE reqs_total counter
reqs_total{"model.name"="dotted",model_name="plain"} 1
`})
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, Interval: time.Second})
	u, _ := url.Parse(base)
	prom := startPrometheus(t, federationConfig(u.Host))
	deadline := time.Now().Add(time.Minute)
	for {
		v, _, _, err := prom.API.Query(t.Context(), `{__name__="reqs_total","model.name"="dotted",model_name="plain"}`, time.Now())
		if err == nil && len(v.(model.Vector)) == 1 {
			return
		}
		if time.Now().After(deadline) {
			targets, _ := prom.API.Targets(t.Context())
			t.Fatalf("federated reqs_total with both labels: got %v (%v); federation targets %+v", v, err, targets.Active)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus' answer
	}
}

// federationConfig is a Prometheus configuration federating every series of the serve
// processes at targets (host:port) every second, as docs/serve.md's does.
func federationConfig(targets ...string) string {
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: podscrape-serve
  honor_labels: true
  metrics_path: /federate
  params:
    'match[]': ['{job=~".+"}']
  static_configs:
  - targets: [%s]
`, strings.Join(quoted, ", "))
}
