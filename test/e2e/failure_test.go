package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/source/pod"
)

// hang answers nothing until the client gives up.
var hang = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

// scrapeErrors returns the *pod.ScrapeError of every failed pod, by pod name.
func scrapeErrors(t *testing.T, err error) map[string]*pod.ScrapeError {
	t.Helper()
	out := map[string]*pod.ScrapeError{}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v: want errors joined per pod", err)
	}
	for _, e := range joined.Unwrap() {
		var se *pod.ScrapeError
		if !errors.As(e, &se) {
			t.Fatalf("error %v: want a *pod.ScrapeError", e)
		}
		out[se.Pod[strings.Index(se.Pod, "/")+1:]] = se
	}
	return out
}

func TestFailurePartialKeepsHealthyPodsAndNamesEachFailure(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	f := startService(t,
		podDef{name: "healthy", handler: serve(vllm)},
		podDef{name: "error500", handler: failWith(http.StatusInternalServerError)},
		podDef{name: "garbage", handler: serve([]byte("this is not {an exposition\n"))},
		podDef{name: "hanging", handler: hang},
	)
	cfg := f.config()
	cfg.ScrapeTimeout = 300 * time.Millisecond
	results, err := refresh(t, newSource(t, cfg))
	if err != nil {
		t.Fatalf("Refresh: got %v, want nil when some pods are healthy", err)
	}
	r := results[pod.AllMetricsQuery]
	if got, want := upByPod(r), map[string]float64{"healthy": 1, "error500": 0, "garbage": 0, "hanging": 0}; !equalMaps(got, want) {
		t.Fatalf("up: got %v, want %v", got, want)
	}
	if got := len(samples(r, "vllm:num_requests_waiting")["healthy"]); got != 1 {
		t.Fatalf("healthy pod's vllm:num_requests_waiting: got %d samples, want 1", got)
	}
	for _, v := range r.Values {
		if p := v.Labels["pod"]; p != "healthy" && !strings.HasPrefix(v.Labels["__name__"], "scrape_") && v.Labels["__name__"] != "up" {
			t.Fatalf("failed pod %s contributed sample %v", p, v.Labels)
		}
	}

	errs := scrapeErrors(t, r.Error)
	if len(errs) != 3 {
		t.Fatalf("pod errors: got %v, want error500, garbage and hanging", errs)
	}
	var status *pod.StatusError
	if !errors.As(errs["error500"], &status) || status.StatusCode != 500 {
		t.Fatalf("error500: got %v, want StatusError 500", errs["error500"])
	}
	var parse *exposition.ParseError
	if !errors.As(errs["garbage"], &parse) || parse.Line != 1 {
		t.Fatalf("garbage: got %v, want a ParseError on line 1", errs["garbage"])
	}
	if !errors.Is(errs["hanging"], context.DeadlineExceeded) || pod.ScrapeReason(errs["hanging"]) != pod.ReasonTimeout {
		t.Fatalf("hanging: got %v, want a deadline exceeded", errs["hanging"])
	}
	for name, e := range errs {
		if !strings.Contains(e.Error(), f.ns+"/"+name) || !strings.Contains(e.Error(), e.URL) {
			t.Fatalf("error %q: want it to name pod %s/%s and its URL", e, f.ns, name)
		}
	}
}

func TestFailureAllPodsFailIsAnError(t *testing.T) {
	t.Parallel()
	broken := failWith(http.StatusServiceUnavailable)
	f := startService(t, podDef{name: "a", handler: broken}, podDef{name: "b", handler: broken})
	s := newSource(t, f.config())
	results, err := refresh(t, s)
	if !errors.Is(err, pod.ErrAllPodsFailed) {
		t.Fatalf("Refresh: got %v, want ErrAllPodsFailed", err)
	}
	if !strings.Contains(err.Error(), f.ns+"/"+f.svc) {
		t.Fatalf("error %q: want it to name the service", err)
	}
	if got := upByPod(results[pod.AllMetricsQuery]); !equalMaps(got, map[string]float64{"a": 0, "b": 0}) {
		t.Fatalf("up: got %v, want both 0", got)
	}
	if cached := s.Get(pod.AllMetricsQuery, nil); cached != nil {
		t.Fatalf("Get after a failed refresh: got %v, want nil (nothing cached)", cached.Result)
	}
}

func TestFailureFailedRefreshKeepsLastGoodValue(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	f := startService(t, podDef{name: "p", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write([]byte("m 7\n"))
	})})
	s := newSource(t, f.config())
	mustRefresh(t, s)
	down.Store(true)
	if _, err := refresh(t, s); !errors.Is(err, pod.ErrAllPodsFailed) {
		t.Fatalf("second Refresh: got %v, want ErrAllPodsFailed", err)
	}
	cached := s.Get(pod.AllMetricsQuery, nil)
	if cached == nil || samples(&cached.Result, "m")["p"][0].Value != 7 {
		t.Fatalf("Get: got %v, want the first refresh's m 7", cached)
	}
}

func TestFailureCallerCancelEndsRefreshPromptly(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	f := startService(t, podDef{name: "slow", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})})
	cfg := f.config()
	cfg.ScrapeTimeout = time.Minute
	s := newSource(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, sourceSpec())
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Refresh: got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh did not return after its context was cancelled")
	}
}

func equalMaps(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
