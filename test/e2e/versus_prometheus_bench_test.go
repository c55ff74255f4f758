package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// BenchmarkVersusPrometheus runs the real Prometheus server and a PodScrapingSource side
// by side on the same 200 loopback vLLM pods (served by a child process), both scraping
// every second for the same window, and reports each one's CPU seconds and peak RSS, and
// the freshness of what an instant query sees: the age of its oldest pod's newest sample,
// probed at moments spread over the window by the same query on both backends
// (min(timestamp(vllm:num_requests_waiting))).
// BENCH.md's goal: ours at most one third of Prometheus' CPU and RSS. Both are measured
// as processes of their own: ours is hack/benchscraper (a direct API client, the
// autoscaler's vLLM queries, the scrape loop, in a binary of its own); the freshness
// probes use a second source in this process.
//
//	go test ./test/e2e -run '^$' -bench 'VersusPrometheus' -benchtime 1x
func BenchmarkVersusPrometheus(b *testing.B) {
	const (
		pods     = 200
		interval = time.Second
		window   = 30 * time.Second
		probes   = 10
	)
	svc := vllmService(b, pods)
	kubeconfig := filepath.Join(b.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, svc.cfg.ServiceNamespace, kubeconfig); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		prom, err := promserver.Start(ctx, promserver.Options{Config: promserver.PodScrapeConfig(kubeconfig, interval, promserver.PodJob{
			Name: "vllm", Namespace: svc.cfg.ServiceNamespace, Selector: fmt.Sprintf("app=vllm%d", pods), // startBenchService's selector
			Port: int(svc.cfg.MetricsPort),
		})})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = prom.Stop() })
		waitPromTargets(b, prom, pods)
		cfg := svc.cfg
		cfg.MaxConcurrentScrapes = 50
		cfg.ScrapeInterval = interval
		src, err := pod.NewPodScrapingSource(ctx, svc.reader, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
			b.Fatal(err)
		}
		// Freshness is measured alike on both: the age of the oldest pod's newest sample.
		const oldest = "min(timestamp(vllm:num_requests_waiting))"
		src.QueryList().MustRegister(source.QueryTemplate{Name: "oldest", Type: source.QueryTypePromQL, Template: oldest})
		loopDone := make(chan error, 1)
		scraper := startScraper(b, kubeconfig, cfg.ServiceNamespace, cfg.ServiceName, cfg.MetricsPort, interval, cfg.MaxConcurrentScrapes)
		scraperPID := scraper.cmd.Process.Pid

		promCPU0, ourCPU0 := procCPU(b, prom.PID()), procCPU(b, scraperPID)
		go func() { loopDone <- src.Start(ctx) }()
		params := map[string]string{source.ParamNamespace: cfg.ServiceNamespace, source.ParamModelID: "Qwen/Qwen3-0.6B", llmd.ParamRetentionPeriod: "5m"}
		var ourAge, promAge time.Duration
		probe := window / probes
		for range probes {
			time.Sleep(probe) // the window is wall time both servers run for, not a wait for an event
			now := time.Now()
			rs, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{llmd.QueueLength, "oldest"}, Params: params})
			if err != nil {
				b.Fatal(err)
			}
			if r := rs["oldest"]; r.Error != nil || len(r.Values) != 1 {
				b.Fatalf("our %s: %v, %v", oldest, r.Values, r.Error)
			}
			ourAge += now.Sub(time.UnixMilli(int64(rs["oldest"].Values[0].Value * 1000)))
			v, _, _, err := prom.API.Query(ctx, oldest, now)
			if err != nil {
				b.Fatal(err)
			}
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
				promAge += now.Sub(time.UnixMilli(int64(float64(vec[0].Value) * 1000)))
			} else {
				b.Fatalf("Prometheus has no vllm:num_requests_waiting yet: %v", v)
			}
		}
		promCPU, ourCPU := procCPU(b, prom.PID())-promCPU0, procCPU(b, scraperPID)-ourCPU0
		promRSS, ourRSS := procPeakRSS(b, prom.PID()), procPeakRSS(b, scraperPID)
		if err := scraper.stop(); err != nil {
			b.Errorf("scraper: %v", err)
		}
		cancel()
		<-loopDone
		src.Close()
		if err := prom.Stop(); err != nil {
			b.Error(err)
		}
		b.ReportMetric(ourCPU.Seconds(), "ours-cpu-s")
		b.ReportMetric(promCPU.Seconds(), "prom-cpu-s")
		b.ReportMetric(ourCPU.Seconds()/promCPU.Seconds(), "cpu-ratio")
		b.ReportMetric(float64(ourRSS)/(1<<20), "ours-peak-MiB")
		b.ReportMetric(float64(promRSS)/(1<<20), "prom-peak-MiB")
		b.ReportMetric(float64(ourRSS)/float64(promRSS), "rss-ratio")
		b.ReportMetric((ourAge / probes).Seconds(), "ours-age-s")
		b.ReportMetric((promAge / probes).Seconds(), "prom-age-s")
	}
}

// waitPromTargets polls until Prometheus has scraped n targets up.
func waitPromTargets(b *testing.B, prom *promserver.Server, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v, _, _, err := prom.API.Query(context.Background(), "count(up == 1)", time.Now())
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && int(vec[0].Value) >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Prometheus did not scrape %d targets within a minute: %v %v", n, v, err)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}

// procCPU is a process's user and system CPU time, from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// procPeakRSS is a process's peak resident set (VmHWM), in bytes.
func procPeakRSS(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
