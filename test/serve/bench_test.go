package serve

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
)

// BenchmarkServeVersusPrometheus runs `podscrape serve` and the real Prometheus server
// side by side, as processes of their own, on the same 200 loopback vLLM pods (the
// vLLM fixture), both scraping every second; every second for the window, the
// autoscaler's vLLM queries are asked of both over HTTP. It reports each one's CPU
// seconds and peak RSS, each one's query latency p50 and p99, and the age of the data
// each answer saw (min(timestamp(vllm:num_requests_waiting)) at the query time); and how
// long serve takes from exec to serving (serve-start-ms) and to ready, its 200 pods
// scraped once (serve-ready-ms).
// BENCH.md's goal: serve at most 1/4 of Prometheus' CPU and 1/3 of its peak RSS, latency
// no worse, data age at most half of Prometheus' and at most --max-age.
//
//	go test ./test/serve -run '^$' -bench ServeVersusPrometheus -benchtime 1x -timeout 20m
func BenchmarkServeVersusPrometheus(b *testing.B) {
	const (
		pods     = 200
		interval = time.Second
		maxAge   = 500 * time.Millisecond
	)
	window := 60 * time.Second
	if w := os.Getenv("SERVE_BENCH_WINDOW"); w != "" {
		window, _ = time.ParseDuration(w)
	}
	// SERVE_BENCH_PHASE sets the polls' phase against serve's interval scrapes; unset, it
	// is wherever the start puts it. 600ms is the phase past --max-age where, before serve
	// re-phased its loop after a query's scrape, every query scraped and waited for the
	// pods (BENCH.md, "serve after session 8's third review").
	var phase time.Duration
	if p := os.Getenv("SERVE_BENCH_PHASE"); p != "" {
		phase, _ = time.ParseDuration(p)
	}
	fixture, err := os.ReadFile(filepath.Join(repoRoot(b), "testdata", "vllm-sim-metrics.txt"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := env.NewService(b.Context(), podscrapetest.ServiceOptions{Name: "vllm", Pods: pods, Body: string(fixture)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close() })
	dir := b.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "podscrape")
	// Built as .ko.yaml builds the image serve runs from.
	build := exec.Command(filepath.Join(goruntime.GOROOT(), "bin", "go"), "build", "-trimpath", "-tags=nodemo", "-ldflags=-s -w", "-o", bin, "./cmd/podscrape")
	build.Dir, build.Stderr, build.Env = repoRoot(b), os.Stderr, append(os.Environ(), "CGO_ENABLED=0")
	if err := build.Run(); err != nil {
		b.Fatalf("go build ./cmd/podscrape: %v", err)
	}
	params := map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: "fake-model", llmd.ParamRetentionPeriod: "1m"}
	var exprs []string
	for _, q := range llmd.VLLMQueries() {
		e, err := source.FillTemplate(q, params)
		if err != nil {
			b.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	const oldest = "min(timestamp(vllm:num_requests_waiting))"

	for b.Loop() {
		serveCmd := exec.Command(bin, "--kubeconfig", kubeconfig, "serve", svc.Name, "--port", fmt.Sprint(svc.Port),
			"--interval", interval.String(), "--max-age", maxAge.String(), "--concurrency", "50",
			"--allow-partial-windows", "--listen", "127.0.0.1:0")
		if g := os.Getenv("SERVE_BENCH_GOGC"); g != "" {
			serveCmd.Env = append(os.Environ(), "GOGC="+g) // serve's only: Prometheus reads GOGC too
		}
		started := time.Now()
		base := startServeChild(b, serveCmd)
		serving := time.Since(started)
		waitReady(b, base)
		ready := time.Since(started)
		readyAt := time.Now() // within 20 ms of the end of serve's first scrape: its loop's phase
		prom, err := promserver.Start(b.Context(), promserver.Options{Config: promserver.PodScrapeConfig(kubeconfig, interval, promserver.PodJob{
			Name: svc.Name, Namespace: svc.Namespace, Selector: "app=" + svc.Name, Port: int(svc.Port),
		})})
		if err != nil {
			b.Fatal(err)
		}
		waitUp(b, prom.URL, pods)
		waitUp(b, base, pods)

		serveCPU0, promCPU0 := procCPU(b, serveCmd.Process.Pid), procCPU(b, prom.PID())
		var serveLat, promLat []time.Duration
		var serveAge, promAge time.Duration
		probes := 0
		if phase > 0 {
			// The polls' phase against serve's loop, as SERVE_BENCH_PHASE asks: its
			// first scrape ended at readyAt, and its loop ticks every interval from there
			// (until a query's scrape re-phases it).
			first := readyAt.Add(phase)
			for time.Until(first) < time.Second {
				first = first.Add(interval)
			}
			time.Sleep(time.Until(first) - time.Second) // the ticker's first tick is at first
		}
		tick := time.NewTicker(time.Second)
		for end := time.Now().Add(window); time.Now().Before(end); {
			<-tick.C // the autoscaler's poll period: wall time, not a wait for an event
			for _, e := range exprs {
				serveLat = append(serveLat, timedQuery(b, base, e))
				promLat = append(promLat, timedQuery(b, prom.URL, e))
			}
			now := time.Now()
			serveAge += now.Sub(scalarTime(b, base, oldest))
			promAge += now.Sub(scalarTime(b, prom.URL, oldest))
			probes++
		}
		tick.Stop()
		serveCPU, promCPU := procCPU(b, serveCmd.Process.Pid)-serveCPU0, procCPU(b, prom.PID())-promCPU0
		scrapes := scrapesOf(b, base)
		serveRSS, serveAnon, serveFile := procMemory(b, serveCmd.Process.Pid)
		promRSS, promAnon, promFile := procMemory(b, prom.PID())
		_ = serveCmd.Process.Signal(syscall.SIGTERM)
		_ = serveCmd.Wait()
		if err := prom.Stop(); err != nil {
			b.Error(err)
		}
		b.ReportMetric(ms(serving), "serve-start-ms")
		b.ReportMetric(ms(ready), "serve-ready-ms")
		b.ReportMetric(scrapes, "serve-scrapes")
		b.ReportMetric(serveCPU.Seconds(), "serve-cpu-s")
		b.ReportMetric(promCPU.Seconds(), "prom-cpu-s")
		b.ReportMetric(serveCPU.Seconds()/promCPU.Seconds(), "cpu-ratio")
		b.ReportMetric(float64(serveRSS)/(1<<20), "serve-peak-MiB")
		b.ReportMetric(float64(promRSS)/(1<<20), "prom-peak-MiB")
		b.ReportMetric(float64(serveRSS)/float64(promRSS), "rss-ratio")
		b.ReportMetric(float64(serveAnon)/(1<<20), "serve-end-anon-MiB")
		b.ReportMetric(float64(serveFile)/(1<<20), "serve-end-file-MiB")
		b.ReportMetric(float64(promAnon)/(1<<20), "prom-end-anon-MiB")
		b.ReportMetric(float64(promFile)/(1<<20), "prom-end-file-MiB")
		b.ReportMetric(float64(serveAnon)/float64(promAnon), "anon-ratio")
		b.ReportMetric(ms(percentile(serveLat, 50)), "serve-p50-ms")
		b.ReportMetric(ms(percentile(promLat, 50)), "prom-p50-ms")
		b.ReportMetric(ms(percentile(serveLat, 99)), "serve-p99-ms")
		b.ReportMetric(ms(percentile(promLat, 99)), "prom-p99-ms")
		b.ReportMetric(ms(serveAge/time.Duration(probes)), "serve-age-ms")
		b.ReportMetric(ms(promAge/time.Duration(probes)), "prom-age-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// startServeChild starts podscrape serve and returns the URL it printed.
func startServeChild(b *testing.B, cmd *exec.Cmd) string {
	b.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(stderr)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("podscrape serve: %v (last line %q)", err, line)
		}
		if _, rest, ok := strings.Cut(line, " on http://"); ok {
			var out io.Writer = io.Discard
			if path := os.Getenv("SERVE_BENCH_STDERR"); path != "" {
				// Keep serve's stderr (e.g. GODEBUG=gctrace=1) for a look at its GC.
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = f.Close() })
				out = f
			}
			go func() { _, _ = io.Copy(out, r) }()
			return "http://" + strings.Fields(rest)[0]
		}
	}
}

// timedQuery asks base for expr over HTTP and returns how long the answer took.
func timedQuery(b *testing.B, base, expr string) time.Duration {
	b.Helper()
	start := time.Now()
	resp, err := http.PostForm(base+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %q: %d %s", base, expr, resp.StatusCode, body)
	}
	return d
}

// scalarTime asks base for expr (one sample of a Unix time in seconds) and returns it.
func scalarTime(b *testing.B, base, expr string) time.Time {
	b.Helper()
	_, e := get(b, base, "/api/v1/query", url.Values{"query": {expr}})
	r, _ := e.Data.(map[string]any)["result"].([]any)
	if len(r) != 1 {
		b.Fatalf("%s %q: %+v", base, expr, e)
	}
	f, err := strconv.ParseFloat(r[0].(map[string]any)["value"].([]any)[1].(string), 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.UnixMilli(int64(f * 1000))
}

// waitUp polls base until n targets are up, for at most a minute.
func waitUp(b *testing.B, base string, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, e := get(b, base, "/api/v1/query", url.Values{"query": {"count(up == 1)"}})
		if r, _ := e.Data.(map[string]any)["result"].([]any); len(r) == 1 {
			if v, _ := strconv.Atoi(r[0].(map[string]any)["value"].([]any)[1].(string)); v >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: fewer than %d targets up after a minute: %+v", base, n, e)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}

func repoRoot(testing.TB) string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// procCPU is a process's user and system CPU time, from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// procMemory is a process's peak resident set (VmHWM) and its resident set now, split
// into anonymous memory (heap, stacks) and file pages (its binary's, mapped files), in
// bytes, from /proc/PID/status.
func procMemory(b *testing.B, pid int) (peak, anon, file int64) {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := map[string]*int64{"VmHWM:": &peak, "RssAnon:": &anon, "RssFile:": &file}
	for _, line := range strings.Split(string(raw), "\n") {
		name, rest, _ := strings.Cut(line, "\t")
		if to := fields[name]; to != nil {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			*to = kb << 10
		}
	}
	if peak == 0 {
		b.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	return peak, anon, file
}
