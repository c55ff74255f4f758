package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// inflight counts the requests being served across servers and keeps the peak.
type inflight struct {
	mu       sync.Mutex // protects now, peak
	cond     *sync.Cond
	now      int
	peak     int
	release  int           // a request waits until this many are in flight (or hold passes)
	hold     time.Duration // the longest a request waits
	gen      int           // bumped each time release requests are in flight together
	requests int
}

func newInflight(release int) *inflight {
	in := &inflight{release: release, hold: 3 * time.Second}
	in.cond = sync.NewCond(&in.mu)
	return in
}

// handler serves body after holding the request until release requests are in flight
// together or hold has passed, so a scraper that allows release concurrent scrapes
// reaches exactly that, and one that allows fewer shows its cap as the peak.
func (in *inflight) handler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.now++
		in.requests++
		in.peak = max(in.peak, in.now)
		if in.now >= in.release {
			in.gen++
			in.cond.Broadcast()
		}
		gen := in.gen
		deadline := time.Now().Add(in.hold)
		for in.gen == gen && in.now < in.release && time.Now().Before(deadline) && r.Context().Err() == nil {
			waitWithDeadline(in.cond, deadline)
		}
		in.now--
		in.mu.Unlock()
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write(body)
	})
}

// waitWithDeadline waits on c (whose lock is held) until a Broadcast or the deadline.
func waitWithDeadline(c *sync.Cond, deadline time.Time) {
	t := time.AfterFunc(time.Until(deadline), func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	t.Stop()
}

// counts returns the requests served and the peak in flight.
func (in *inflight) counts() (requests, peak int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests, in.peak
}

// Every request is held until one more than the cap is in flight, which must never
// happen, or a short hold passes: a source allowing one request more than its cap would
// reach cap+1, so the peak shows the cap exactly. The hold only lets each batch go; the
// test asserts nothing about time.
func TestConcurrencyCapHoldsAcrossPods(t *testing.T) {
	t.Parallel()
	const pods, limit = 12, 3
	in := newInflight(limit + 1)
	in.hold = 200 * time.Millisecond
	defs := make([]podDef, pods)
	for i := range defs {
		defs[i] = podDef{name: fmt.Sprintf("pod-%02d", i), handler: in.handler([]byte("m 1\n"))}
	}
	f := startService(t, defs...)
	cfg := f.config()
	cfg.MaxConcurrentScrapes = limit
	r := mustRefresh(t, newSource(t, cfg))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	requests, peak := in.counts()
	if requests != pods {
		t.Fatalf("requests: got %d, want %d", requests, pods)
	}
	if peak != limit {
		t.Fatalf("peak requests in flight: got %d, want the cap, %d", peak, limit)
	}
}

// Two concurrent refreshes of different queries stay under one cap together, and share
// one scrape of each pod: the second starts while the first's requests are held, and the
// first's scrape (every registered query) answers its query.
func TestConcurrencyCapHoldsAcrossConcurrentRefreshesOfDifferentQueries(t *testing.T) {
	t.Parallel()
	const pods, limit = 8, 2
	in := newInflight(limit + 1)
	in.hold = 200 * time.Millisecond
	arrived := make(chan struct{}, 2*pods) // room for a second scrape, should one happen
	held := in.handler([]byte("m 1\nqueue 2\n"))
	defs := make([]podDef, pods)
	for i := range defs {
		defs[i] = podDef{name: fmt.Sprintf("pod-%02d", i), handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			held.ServeHTTP(w, r)
		})}
	}
	f := startService(t, defs...)
	cfg := f.config()
	cfg.MaxConcurrentScrapes = limit
	s := newSource(t, cfg)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})

	var wg sync.WaitGroup
	results := make([]map[string]*source.MetricResult, 2)
	errs := make([]error, 2)
	wg.Go(func() { results[0], errs[0] = refresh(t, s) })
	<-arrived // the first refresh is scraping
	wg.Go(func() { results[1], errs[1] = refresh(t, s, "queue") })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	requests, peak := in.counts()
	if peak != limit {
		t.Fatalf("peak requests in flight: got %d, want the cap, %d", peak, limit)
	}
	if requests != pods {
		t.Fatalf("requests for two concurrent refreshes: got %d, want %d (one scrape of each pod)", requests, pods)
	}
	if got := len(results[1]["queue"].Values); got != 2*pods {
		t.Fatalf("queue: got %d values, want a queue sample and an up per pod", got)
	}
}

// The guide's "Each scrape uses ScrapeTimeout for the HTTP request": each pod's scrape
// is bounded from its own start, once it has a slot, not from the refresh's. With one
// slot, four pods that each take half a second all answer within a 1.5s ScrapeTimeout,
// though the refresh lasts over 2s.
func TestConcurrencyScrapeTimeoutCountsFromEachPodsOwnStart(t *testing.T) {
	t.Parallel()
	const pods, each = 4, 500 * time.Millisecond
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(each): // a pod that takes this long to answer
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write([]byte("m 1\n"))
	})
	defs := make([]podDef, pods)
	for i := range defs {
		defs[i] = podDef{name: fmt.Sprintf("pod-%d", i), handler: slow}
	}
	f := startService(t, defs...)
	cfg := f.config()
	cfg.MaxConcurrentScrapes = 1
	cfg.ScrapeTimeout = 3 * each
	start := time.Now()
	r := mustRefresh(t, newSource(t, cfg))
	if r.Error != nil {
		t.Fatalf("Error: %v, want none: each pod answered within ScrapeTimeout of its own start", r.Error)
	}
	if took := time.Since(start); took < pods*each {
		t.Fatalf("the refresh took %s, less than the %s the pods take one at a time", took, pods*each)
	}
	for p, up := range upByPod(r) {
		if up != 1 {
			t.Errorf("%s: up %v, want 1", p, up)
		}
	}
}
