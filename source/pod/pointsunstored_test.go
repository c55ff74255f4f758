package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// pointsAndGatePods starts, behind one Service of a namespace of its own, pod "a"
// answering the exposition set with setBody, and pod "b" answering "gate 1" unless
// hold(true) was called: then it takes the request and answers nothing until the
// scraper gives up, with a send on arrived. MaxConcurrentScrapes is 1 and the pods are
// scraped in name order: when b has its request, a's scrape has ended.
func pointsAndGatePods(t *testing.T) (cfg PodScrapingSourceConfig, setBody func(string), hold func(bool), arrived <-chan struct{}) {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("points-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // protects body, holding
	body, holding := "", false
	got := make(chan struct{}, 100)
	block := localcluster.NewAddressBlock()
	aIP, bIP := block.Next(), block.Next()
	a, err := localcluster.Serve(aIP, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		b := body
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, b)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := localcluster.Serve(bIP, a.Port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := holding
		mu.Unlock()
		if h {
			got <- struct{}{}
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, "gate 1\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	sel := map[string]string{"app": "points"}
	if err := cp.CreateService(ctx, ns, "svc", sel, int32(a.Port)); err != nil {
		t.Fatal(err)
	}
	for name, ip := range map[string]string{"a": aIP, "b": bIP} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	cfg = PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: ns, MetricsPort: int32(a.Port),
		ScrapeTimeout: time.Hour, MaxConcurrentScrapes: 1}
	setBody = func(s string) { mu.Lock(); body = s; mu.Unlock() }
	hold = func(h bool) { mu.Lock(); holding = h; mu.Unlock() }
	return cfg, setBody, hold, got
}

// cancelWhileGateHolds runs call with a context it cancels once pod b holds its request
// (pod a's scrape has ended by then), and returns call's error.
func cancelWhileGateHolds(t *testing.T, arrived <-chan struct{}, call func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("pod b got no request within 30s")
	}
	cancel()
	return <-done
}

// pointsBody is an exposition of the series pts with a point (of its own timestamp) at
// each of at, and of the series plain without one.
func pointsBody(at ...time.Time) string {
	var b strings.Builder
	for i, t := range at {
		fmt.Fprintf(&b, "pts %d %d\n", i+1, t.UnixMilli())
	}
	b.WriteString("plain 1\n")
	return b.String()
}

// A series of several points of their own timestamps: the points of a pod's scrape that
// never reached the history (the Refresh was cancelled by its caller while another pod
// had not answered) are handed to it by the pod's next scrape, which exposes them again.
// They were taken for points the history held, as the points of a scrape stored are, and
// left out for good: count_over_time answered 2 points where the pod had exposed 4.
func TestPointsOfARefreshNeverStoredAreStoredNextTime(t *testing.T) {
	cfg, setBody, hold, arrived := pointsAndGatePods(t)
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := []time.Time{t0.Add(-40 * time.Second), t0.Add(-30 * time.Second), t0.Add(-20 * time.Second), t0.Add(-10 * time.Second)}
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "points", Template: "count_over_time(pts[10m])"}})

	setBody(pointsBody(p[0], p[1]))
	if got := mustRefresh(t, s)["points"]; len(got.Values) != 1 || got.FirstValue().Value != 2 {
		t.Fatalf("first refresh: count_over_time = %v (Error %v), want 2", got.Values, got.Error)
	}

	clk.Step(5 * time.Second)
	setBody(pointsBody(p...))
	hold(true)
	err := cancelWhileGateHolds(t, arrived, func(ctx context.Context) error {
		_, err := s.Refresh(ctx, source.RefreshSpec{})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled refresh: %v, want context.Canceled", err)
	}

	clk.Step(5 * time.Second)
	hold(false)
	got := mustRefresh(t, s)["points"]
	if len(got.Values) != 1 || got.FirstValue().Value != 4 || errors.Is(got.Error, ErrSampleOutOfOrder) {
		t.Errorf("after a cancelled refresh: count_over_time = %v (Error %v), want the 4 points the pod exposes, no out-of-order error", got.Values, got.Error)
	}
}

// The same for ScrapeSeries (serve's scrapes): a ScrapeSeries cancelled by its caller
// returns no pod, so the points pod a exposed in it reached no store; its next
// ScrapeSeries returns them, as it returns the points it has never returned.
func TestPointsOfAScrapeSeriesNeverReturnedAreReturnedNextTime(t *testing.T) {
	cfg, setBody, hold, arrived := pointsAndGatePods(t)
	t0 := time.Now()
	p := []time.Time{t0.Add(-40 * time.Second), t0.Add(-30 * time.Second), t0.Add(-20 * time.Second), t0.Add(-10 * time.Second)}
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	points := func(pods []PodSeries) []int64 {
		var out []int64
		for _, ps := range pods {
			for _, smp := range ps.Samples {
				if smp.Labels.Get("__name__") == "pts" {
					out = append(out, smp.T)
				}
			}
		}
		return out
	}

	setBody(pointsBody(p[0], p[1]))
	pods, err := s.ScrapeSeries(t.Context())
	if err != nil || len(points(pods)) != 2 {
		t.Fatalf("first ScrapeSeries: points %v, %v; want 2 points", points(pods), err)
	}

	setBody(pointsBody(p...))
	hold(true)
	err = cancelWhileGateHolds(t, arrived, func(ctx context.Context) error {
		_, err := s.ScrapeSeries(ctx)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled ScrapeSeries: %v, want context.Canceled", err)
	}

	hold(false)
	pods, err = s.ScrapeSeries(t.Context())
	want := []int64{p[2].UnixMilli(), p[3].UnixMilli()}
	if got := points(pods); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a cancelled ScrapeSeries: points %v, %v; want %v, the two the caller never got (the first two it has)", got, err, want)
	}
}
