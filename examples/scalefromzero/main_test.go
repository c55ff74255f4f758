package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source/pod"
)

var env *podscrapetest.Environment

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(podscrapetest.Run(m, podscrapetest.Options{}, &env))
}

// liveEPP is the exposition of llm-d-router's EPP under load: 15 requests for
// fake-model in flow control, under both names.
func liveEPP(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "llm-d-epp-ebab687-live.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// legacyOnly drops the current llm_d_epp_* families: an EPP from before the rename.
func legacyOnly(body string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "llm_d_epp_") && !strings.HasPrefix(line, "# HELP llm_d_epp_") && !strings.HasPrefix(line, "# TYPE llm_d_epp_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

const flowLabels = `fairness_id="a",inference_pool="p",model_name="fake-model",priority="0",target_model_name="fake-model"`

// checkOn serves handlers (one per EPP pod) and returns a queue check over them.
func checkOn(t *testing.T, handlers ...http.Handler) *queueCheck {
	t.Helper()
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: len(handlers)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	for i, p := range svc.Pods() {
		p.SetHandler(handlers[i])
	}
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	c, err := newQueueCheck(src, "fake-model")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func body(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(s))
	})
}

var failing = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "overloaded", http.StatusServiceUnavailable)
})

func TestPending(t *testing.T) {
	live := liveEPP(t)
	for _, tc := range []struct {
		name     string
		handlers []http.Handler
		want     float64
		wantErr  error // nil: no error; errAny: any error
	}{
		{"current EPP, both names: counted once", []http.Handler{body(live)}, 15, nil},
		{"EPP before the rename", []http.Handler{body(legacyOnly(live))}, 15, nil},
		{"mid-upgrade: one of each", []http.Handler{body(live), body(legacyOnly(live))}, 30, nil},
		{"a current-name zero wins over its legacy twin", []http.Handler{body(
			"# TYPE llm_d_epp_flow_control_queue_size gauge\nllm_d_epp_flow_control_queue_size{" + flowLabels + "} 0\n" +
				"# TYPE inference_extension_flow_control_queue_size gauge\ninference_extension_flow_control_queue_size{" + flowLabels + "} 4\n")}, 0, nil},
		{"another model's queue is not ours", []http.Handler{body(
			"# TYPE llm_d_epp_flow_control_queue_size gauge\nllm_d_epp_flow_control_queue_size{" + strings.ReplaceAll(flowLabels, "fake-model", "other") + "} 7\n")}, 0, nil},
		{"no pod exposes the metric", []http.Handler{body("# TYPE llm_d_epp_info gauge\nllm_d_epp_info 1\n")}, 0, ErrNoQueueMetric},
		{"one pod failed: unknown, not 15", []http.Handler{body(live), failing}, 0, errAny},
		{"every pod failed", []http.Handler{failing, failing}, 0, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkOn(t, tc.handlers...).pending(context.Background())
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("got error %v, want %g", err, tc.want)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("got %g, %v; want error %v", got, err, tc.wantErr)
			case got != tc.want:
				t.Fatalf("got %g, want %g", got, tc.want)
			}
		})
	}
}

// errAny stands for any error in TestPending.
var errAny = errors.New("any error")

// build builds the program into dir and returns its path.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "scalefromzero")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestProgramOnce builds the program and runs one check against EPP pods through a
// kubeconfig, with its cached client.
func TestProgramOnce(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: 2, Body: liveEPP(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-namespace", svc.Namespace, "-service", svc.Name,
			"-port", strconv.Itoa(int(svc.Port)), "-model", "fake-model", "-once")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := run(); err != nil || out != "fake-model: 30 requests waiting in flow control: scale from zero\n" {
		t.Fatalf("got %v:\n%s", err, out)
	}
	svc.Pods()[1].SetHandler(failing)
	if out, err := run(); err == nil || !strings.Contains(out, "epp-1") {
		t.Fatalf("with a failing EPP pod: got %v:\n%s\nwant exit 1 naming the pod", err, out)
	}
}

// TestProgramRejectsANonPositiveInterval: -interval 0 or below is a usage error (exit 2,
// naming the flag), with -once too, not a panic in time.NewTicker.
func TestProgramRejectsANonPositiveInterval(t *testing.T) {
	bin := build(t, t.TempDir())
	for _, interval := range []string{"0", "-1s"} {
		for _, once := range []bool{false, true} {
			args := []string{"-service", "epp", "-model", "fake-model", "-interval", interval}
			if once {
				args = append(args, "-once")
			}
			var out bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out.String(), "-interval must be positive") {
				t.Errorf("%v: got %v:\n%s\nwant exit status 2 saying -interval must be positive", args, err, out.String())
			}
		}
	}
}

// TestRunOnceNeedsNoTicker: run with once makes no ticker, so an interval a ticker
// refuses cannot break a single check.
func TestRunOnceNeedsNoTicker(t *testing.T) {
	// Cancelled at the end: it stops the cache run starts, whose watches would otherwise
	// hold the API server's shutdown.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: 1, Body: liveEPP(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(ctx, &out, &out, options{kubeconfig: kubeconfig, namespace: svc.Namespace, service: svc.Name,
		port: int(svc.Port), model: "fake-model", once: true})
	if want := "fake-model: 15 requests waiting in flow control: scale from zero\n"; err != nil || out.String() != want {
		t.Fatalf("got %v, %q; want %q", err, out.String(), want)
	}
}

// countingConfig is the environment's config with every API request counted.
func countingConfig(n *atomic.Int64) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cpuTime is the process' user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPendingRefresh measures one scale-from-zero check (a refresh of the EPP
// Service for the two flow-control names, and the sum): CPU time (the process', so the
// loopback EPP servers' writes too), allocations, and API requests per refresh with a
// direct client and with a cached one, for 2 and 20 EPP pods serving the live capture.
//
//	go test ./examples/scalefromzero -run '^$' -bench PendingRefresh -benchtime 200x
func BenchmarkPendingRefresh(b *testing.B) {
	ctrllog.SetLogger(logr.Discard())
	live := liveEPP(b)
	for _, pods := range []int{2, 20} {
		ctx := context.Background()
		svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: pods, Body: live})
		if err != nil {
			b.Fatal(err)
		}
		for _, kind := range []string{"direct", "cached"} {
			b.Run(fmt.Sprintf("epps=%d/client=%s", pods, kind), func(b *testing.B) {
				var requests atomic.Int64
				cfg := countingConfig(&requests)
				var reader client.Reader
				if kind == "direct" {
					c, err := client.New(cfg, client.Options{})
					if err != nil {
						b.Fatal(err)
					}
					reader = c
				} else {
					cacheCtx, stop := context.WithCancel(ctx)
					defer stop()
					if reader, err = cachedReader(cacheCtx, cfg, time.Minute, svc.Namespace, ""); err != nil {
						b.Fatal(err)
					}
				}
				src, err := pod.NewPodScrapingSource(ctx, reader, pod.PodScrapingSourceConfig{
					ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer src.Close()
				check, err := newQueueCheck(src, "fake-model")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := check.pending(ctx); err != nil || n != float64(15*pods) {
					b.Fatalf("got %g, %v; want %d", n, err, 15*pods)
				}
				requests.Store(0)
				b.ReportAllocs()
				cpu := cpuTime()
				b.ResetTimer()
				for b.Loop() {
					if _, err := check.pending(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(requests.Load())/float64(b.N), "api-requests/op")
			})
		}
		_ = svc.Close()
	}
}
