package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	podserve "github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// The soak's PromQL queries, asked of the library and of serve alike. Every pod
// exposes load 1, so within ONE answer the pods whose load was summed are the pods up:
// each query states an invariant that holds whatever the interleaving of the scrapes,
// the pods' churn and the queries.
var soakQueries = []struct{ name, expr string }{
	// 0 in every answer that has a value; never empty without an error (a pod is
	// always Ready).
	{"balance", "sum(load) - count(up == 1)"},
	// A pod that failed contributes nothing but its up 0: always empty.
	{"down_with_load", "load and on(pod, instance) (up == 0)"},
	// A pod up has its samples: always empty.
	{"up_without_load", "(up == 1) unless on(pod, instance) load"},
	// ticks_total grows 1 a second in every pod, with its own timestamps: every rate is
	// within [0, 1].
	{"rates", "rate(ticks_total[3s])"},
	// Each pod's load; never empty without an error, and no pod with a value failed.
	{"load_series", "load"},
	// A pod up exposed its two samples: always empty.
	{"up_miscounted", "(up == 1) unless on(pod, instance) (scrape_samples_scraped == 2)"},
}

// soakLoadQuery is the soak's metric-name query.
const soakLoadQuery = "load_by_name"

// soakSettings are the knobs of TestSoakChurnWithAnOracle: the committed run is two
// seeds of 8 s; PODSCRAPE_SOAK_SEEDS (comma-separated) and PODSCRAPE_SOAK_DURATION (per
// seed, a Go duration) hunt longer or wider, e.g.
//
//	PODSCRAPE_SOAK_SEEDS=1,2,3,4,5,6 PODSCRAPE_SOAK_DURATION=2m KUBEBUILDER_ASSETS=$PWD/bin/k8s \
//	  go test -race -run TestSoakChurnWithAnOracle -timeout 30m ./test/e2e
func soakSettings(t *testing.T) (seeds []uint64, d time.Duration) {
	seeds, d = []uint64{1, 2}, 8*time.Second
	if s := os.Getenv("PODSCRAPE_SOAK_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("PODSCRAPE_SOAK_SEEDS: %v", err)
			}
			seeds = append(seeds, n)
		}
	}
	if s := os.Getenv("PODSCRAPE_SOAK_DURATION"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("PODSCRAPE_SOAK_DURATION: %v", err)
		}
	}
	return seeds, d
}

// soakOracle collects what the consumers saw: the answers checked and every invariant
// broken, with the answer that broke it.
type soakOracle struct {
	mu         sync.Mutex // protects the fields below
	checked    map[string]int
	violations []string
	seen       map[string]bool // violations already noted: Get serves one result many times
}

func (o *soakOracle) count(kind string) {
	o.mu.Lock()
	o.checked[kind]++
	o.mu.Unlock()
}

func (o *soakOracle) violated(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.seen[v] {
		o.seen[v] = true
		o.violations = append(o.violations, v)
	}
}

// Churn with an oracle: a Service of 12 loopback pods, changed by a seeded chaos
// goroutine (soakChaos), read at once by the library (a PodScrapingSource's scrape loop,
// concurrent Refresh and Get callers) and by serve (its scrape loop, through its
// informer cache, and instant and range queries asked over HTTP, under MaxAge on odd
// seeds). Every answer is checked against invariants that hold
// whatever the interleaving (soakQueries, checkLibraryResult, checkServeAnswer); the
// test ends with no goroutine left (trackGoroutines) and runs under -race in make test.
func TestSoakChurnWithAnOracle(t *testing.T) {
	seeds, d := soakSettings(t)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) { soak(t, seed, d) })
	}
}

func soak(t *testing.T, seed uint64, d time.Duration) {
	ctx := context.Background()
	ns := newNamespace(t)
	block := localcluster.NewAddressBlock()
	slots := make([]*soakSlot, 18)
	ips := make([]string, len(slots))
	for i := range slots {
		slots[i] = &soakSlot{ip: block.Next()}
		ips[i] = slots[i].ip
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler {
		return slots[slices.IndexFunc(slots, func(s *soakSlot) bool { return s.ip == ip })]
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	port := int32(servers[0].Port)
	if err := cp.CreateService(ctx, ns, "metrics", map[string]string{"app": "soak"}, port); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	chaos, err := newSoakChaos(ctx, seed, ns, slots, 12)
	if err != nil {
		t.Fatal(err)
	}
	oracle := &soakOracle{checked: map[string]int{}, seen: map[string]bool{}}

	cfg := pod.PodScrapingSourceConfig{
		ServiceName: "metrics", ServiceNamespace: ns, MetricsPort: port,
		ScrapeTimeout: 300 * time.Millisecond, MaxConcurrentScrapes: 32,
	}
	services := []podserve.ServiceConfig{{Source: cfg}}
	informers, err := podserve.StartCache(ctx, cp.Config, services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(informers.Stop)

	// (a) The library: the scrape loop, two Refresh callers and a Get caller; on even
	// seeds discovering through an informer cache, as a controller's cached client does.
	libCfg := cfg
	libCfg.ScrapeInterval = 500 * time.Millisecond
	var reader client.Reader = cp.Client
	if seed%2 == 0 {
		reader = informers
	}
	src, err := pod.NewPodScrapingSource(ctx, reader, libCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	for _, q := range soakQueries {
		src.QueryList().MustRegister(source.QueryTemplate{Name: q.name, Type: source.QueryTypePromQL, Template: q.expr})
	}
	src.QueryList().MustRegister(source.QueryTemplate{Name: soakLoadQuery, Type: source.QueryTypeMetricName, Template: "load"})

	// (b) serve over the same Service, reading the API through its informer cache as
	// the command does (made first: on even seeds the library reads through it too);
	// on odd seeds its queries scrape first under MaxAge, on even ones they read the
	// interval's scrapes.
	serveCfg := podserve.Config{Services: services, Interval: 500 * time.Millisecond}
	if seed%2 == 1 {
		serveCfg.MaxAge = 300 * time.Millisecond
	}
	srv, err := podserve.New(ctx, informers, serveCfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())

	runCtx, stop := context.WithCancel(ctx)
	var consumers, loops sync.WaitGroup
	loops.Go(func() { _ = src.Start(runCtx) })
	loops.Go(func() { _ = srv.Run(runCtx) })
	t.Cleanup(func() {
		stop()
		consumers.Wait()
		hs.Close()
		loops.Wait()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})

	for i := range 2 {
		rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
		consumers.Go(func() { refreshLoop(runCtx, src, rng, oracle) })
	}
	consumers.Go(func() { getLoop(runCtx, src, oracle) })
	for i := range 3 {
		rng := rand.New(rand.NewPCG(seed, uint64(200+i)))
		consumers.Go(func() { serveLoop(runCtx, hs.URL, rng, oracle) })
	}

	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := chaos.step(ctx); err != nil {
			t.Errorf("chaos: %v", err)
			break
		}
		// The pace of the chaos, from the seed; the wait is the churn, not a sync.
		time.Sleep(time.Duration(20+chaos.rng.IntN(100)) * time.Millisecond)
	}
	stop()
	consumers.Wait()

	oracle.mu.Lock()
	defer oracle.mu.Unlock()
	t.Logf("seed %d, %s: chaos %v; answers checked %v", seed, d, chaos.steps, oracle.checked)
	for i, v := range oracle.violations {
		if i == 20 {
			t.Errorf("... and %d more violations", len(oracle.violations)-20)
			break
		}
		t.Errorf("violation: %s", v)
	}
	// An oracle that saw nothing proves nothing.
	for _, kind := range []string{"library balance 0", "serve balance 0", "serve balance range 0", "library all_metrics", "serve rates", "serve rates range"} {
		if oracle.checked[kind] < 5 {
			t.Errorf("only %d answers of kind %q checked: the soak proves nothing of them", oracle.checked[kind], kind)
		}
	}
}

// refreshLoop refreshes src with a random set of queries until ctx ends, checking
// every result.
func refreshLoop(ctx context.Context, src *pod.PodScrapingSource, rng *rand.Rand, o *soakOracle) {
	var promql []string
	for _, q := range soakQueries {
		promql = append(promql, q.name)
	}
	sets := [][]string{promql, {soakLoadQuery}, {pod.AllMetricsQuery}, nil, {promql[rng.IntN(len(promql))], soakLoadQuery}}
	for ctx.Err() == nil {
		queries := sets[rng.IntN(len(sets))]
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		results, err := src.Refresh(rctx, source.RefreshSpec{Queries: queries})
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !errors.Is(err, pod.ErrAllPodsFailed):
			o.violated("library Refresh(%v): %v", queries, err)
			continue
		case err != nil:
			o.count("library every pod failed")
		}
		for _, name := range queries {
			if name == "" {
				continue
			}
			if _, ok := results[name]; !ok && err == nil {
				o.violated("library Refresh(%v): no result for %q", queries, name)
			}
		}
		for name, r := range results {
			checkLibraryResult(o, "Refresh", name, r)
		}
	}
}

// getLoop reads every query's cached result until ctx ends: each must hold the
// invariants, and no key's CollectedAt may go back (the cache never serves older data
// after newer).
func getLoop(ctx context.Context, src *pod.PodScrapingSource, o *soakOracle) {
	names := []string{pod.AllMetricsQuery, soakLoadQuery}
	for _, q := range soakQueries {
		names = append(names, q.name)
	}
	last := map[string]time.Time{}
	for ctx.Err() == nil {
		for _, name := range names {
			cv := src.Get(name, nil)
			if cv == nil || cv.IsExpired() {
				continue
			}
			if at := cv.Result.CollectedAt; at.Before(last[name]) {
				o.violated("library Get(%q): CollectedAt %s, before the %s it served earlier", name, at.Format(time.StampMilli), last[name].Format(time.StampMilli))
			} else {
				last[name] = at
			}
			checkLibraryResult(o, "Get", name, &cv.Result)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond): // the pace of a reader, not a sync
		}
	}
}

// checkLibraryResult checks one result of the library against the soak's invariants.
func checkLibraryResult(o *soakOracle, via, name string, r *source.MetricResult) {
	bad := func(format string, args ...any) {
		o.violated("library %s %q (collected %s, Error %v, Warnings %q): %s; values %s",
			via, name, r.CollectedAt.Format(time.StampMilli), r.Error, r.Warnings, fmt.Sprintf(format, args...), soakValues(r.Values))
	}
	failed := map[string]bool{}
	for _, pe := range source.PodErrors(r.Error) {
		failed[pe.PodName()] = true
	}
	// Every series' samples come in order with times of this process' clock, and the
	// history's series limit is far: nothing is ever refused.
	for _, refusal := range []error{pod.ErrSampleOutOfOrder, pod.ErrSampleAhead, pod.ErrHistorySeriesLimit} {
		if errors.Is(r.Error, refusal) {
			bad("the history refused samples")
		}
	}
	if name != soakLoadQuery && name != pod.AllMetricsQuery {
		// An instant query is evaluated at the result's collection time (to the
		// millisecond: the engine's resolution).
		for _, v := range r.Values {
			if v.Timestamp.UnixMilli() != r.CollectedAt.UnixMilli() {
				bad("a value at %s, not at the result's CollectedAt", v.Timestamp.Format(time.StampMilli))
				break
			}
		}
	}
	switch name {
	case "balance":
		switch {
		case len(r.Values) == 0 && r.Error == nil:
			bad("empty with a nil Error while the Service has a Ready pod")
		case len(r.Values) > 1 || len(r.Values) == 1 && r.Values[0].Value != 0:
			bad("sum(load) is not the count of pods up")
		case len(r.Values) == 1:
			o.count("library balance 0")
		}
	case "down_with_load", "up_without_load", "up_miscounted":
		if len(r.Values) > 0 {
			bad("want no value")
		}
	case "rates":
		for _, v := range r.Values {
			if !(v.Value >= 0 && v.Value <= 1+1e-9) {
				bad("rate %g of %v outside [0, 1]", v.Value, v.Labels)
			}
		}
		o.count("library rates")
	case "load_series":
		if len(r.Values) == 0 && r.Error == nil {
			bad("empty with a nil Error while the Service has a Ready pod")
		}
		for _, v := range r.Values {
			if failed[v.Labels["pod"]] || v.Value != 1 {
				bad("pod %s has load %g and its scrape failed: %v", v.Labels["pod"], v.Value, failed[v.Labels["pod"]])
			}
		}
	case soakLoadQuery, pod.AllMetricsQuery:
		checkPodSamples(r, failed, name == pod.AllMetricsQuery, bad)
		o.count("library " + name)
	}
}

// checkPodSamples checks a metric-name or all_metrics result: each pod has one up; up 1
// exactly for the pods with no error; a pod up has load 1 (and, in all_metrics, its
// counter) once; a pod down has nothing but its synthetic samples; PodStatuses agree.
func checkPodSamples(r *source.MetricResult, failed map[string]bool, all bool, bad func(string, ...any)) {
	if len(r.Values) == 0 && r.Error == nil {
		bad("empty with a nil Error while the Service has a Ready pod")
	}
	type podSeen struct{ up, load, ticks, samples, other []float64 }
	byPod := map[string]*podSeen{}
	for _, v := range r.Values {
		p := byPod[v.Labels["pod"]]
		if p == nil {
			p = &podSeen{}
			byPod[v.Labels["pod"]] = p
		}
		switch v.Labels["__name__"] {
		case "up":
			p.up = append(p.up, v.Value)
		case "load":
			p.load = append(p.load, v.Value)
		case "ticks_total":
			p.ticks = append(p.ticks, v.Value)
		case source.MetricScrapeSamples:
			p.samples = append(p.samples, v.Value)
		case source.MetricScrapeDuration:
		default:
			p.other = append(p.other, v.Value)
		}
	}
	for name, p := range byPod {
		switch {
		case len(p.up) != 1:
			bad("pod %s has %d up samples", name, len(p.up))
		case p.up[0] == 1 && failed[name]:
			bad("pod %s is up and has an error", name)
		case p.up[0] != 1 && !failed[name]:
			bad("pod %s is down (up %g) with no error", name, p.up[0])
		case p.up[0] == 1 && (len(p.load) != 1 || p.load[0] != 1 || all && len(p.ticks) != 1):
			bad("pod %s is up with load %v and ticks_total %v", name, p.load, p.ticks)
		case p.up[0] != 1 && len(p.load)+len(p.ticks) > 0:
			bad("pod %s is down and has load %v and ticks_total %v", name, p.load, p.ticks)
		case len(p.other) > 0:
			bad("pod %s has samples of other names: %v", name, p.other)
		case all && p.up[0] == 1 && (len(p.samples) != 1 || p.samples[0] != 2):
			bad("pod %s is up with scrape_samples_scraped %v, want its 2 samples", name, p.samples)
		}
	}
	for _, st := range r.PodStatuses() {
		p := byPod[st.Pod]
		if p != nil && len(p.load) > 0 && !st.Up {
			bad("PodStatuses says pod %s is down (%s) and the result has its load", st.Pod, st.Reason)
		}
	}
}

// soakValues is a result's values, short.
func soakValues(vs []source.MetricValue) string {
	var b strings.Builder
	for i, v := range vs {
		if i == 12 {
			fmt.Fprintf(&b, " ... %d more", len(vs)-12)
			break
		}
		fmt.Fprintf(&b, " %s{pod=%s,instance=%s}=%g", v.Labels["__name__"], v.Labels["pod"], v.Labels["instance"], v.Value)
	}
	return "[" + b.String() + " ]"
}

// soakAnswer is the part of Prometheus' envelope the soak reads.
type soakAnswer struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`  // of a vector
			Values [][2]any          `json:"values"` // of a matrix
		} `json:"result"`
	} `json:"data"`
}

// serveLoop asks serve the soak's queries at random, instant or over the last 5 s,
// until ctx ends, checking every answer.
func serveLoop(ctx context.Context, base string, rng *rand.Rand, o *soakOracle) {
	client := &http.Client{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		q := soakQueries[rng.IntN(len(soakQueries))]
		path, params := "/api/v1/query", url.Values{"query": {q.expr}}
		if rng.IntN(4) == 0 {
			// A client's own time limit, shorter or longer than a hung pod's scrape.
			params.Set("timeout", fmt.Sprintf("%dms", 50+rng.IntN(500)))
		}
		ranged := rng.IntN(3) == 0
		if !ranged && rng.IntN(2) == 0 {
			// A time of the last seconds, written to the millisecond or to the second
			// as KEDA writes it: what the history held then.
			at := time.Now().Add(-time.Duration(rng.IntN(4000)) * time.Millisecond)
			params.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3*rng.IntN(2), 64))
		}
		if ranged {
			end := time.Now()
			path = "/api/v1/query_range"
			params.Set("start", strconv.FormatFloat(float64(end.Add(-5*time.Second).UnixMilli())/1000, 'f', 3, 64))
			params.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
			params.Set("step", "0.25")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+params.Encode(), nil)
		if err != nil {
			o.violated("serve %s: %v", q.name, err)
			return
		}
		sent := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				o.violated("serve %s: %v", q.name, err)
			}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			if ctx.Err() == nil {
				o.violated("serve %s: reading the answer: %v", q.name, err)
			}
			return
		}
		if !checkServeAnswer(o, q.name+" "+params.Encode()+" asked at "+sent.Format(time.StampMilli), ranged, resp.StatusCode, body) && !ranged {
			// What the history held then, for the diagnosis.
			for _, expr := range []string{"up[3s]", "load[3s]", "scrape_samples_scraped[3s]"} {
				dp := url.Values{"query": {expr}}
				if at := params.Get("time"); at != "" {
					dp.Set("time", at)
				}
				if resp, err := client.Get(base + "/api/v1/query?" + dp.Encode()); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.violated("serve %s, then: %s %s", q.name, expr, b)
				}
			}
		}
	}
}

// checkServeAnswer checks one of serve's answers against the soak's invariants: an
// error is a 503 (pods down, no data) or a 422 (a window not held); a 200 holds its
// query's invariant, at every step of a range query (which may have no step: the span
// may have been an outage).
func checkServeAnswer(o *soakOracle, asked string, ranged bool, code int, body []byte) (ok bool) {
	ok = true
	name, _, _ := strings.Cut(asked, " ")
	kind := name
	if ranged {
		kind += " range"
	}
	bad := func(format string, args ...any) {
		ok = false
		o.violated("serve %s: %d %s: %s", asked, code, body, fmt.Sprintf(format, args...))
	}
	var a soakAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		bad("not JSON: %v", err)
		return
	}
	if code != http.StatusOK {
		if code != http.StatusServiceUnavailable && code != http.StatusUnprocessableEntity || a.Status != "error" || a.Error == "" {
			bad("an error answer other than 503 or 422 with a message")
		}
		o.count(fmt.Sprintf("serve %d", code))
		return
	}
	var values []float64
	for _, s := range a.Data.Result {
		points := s.Values
		if !ranged {
			points = [][2]any{s.Value}
		}
		for _, p := range points {
			str, _ := p[1].(string)
			v, err := strconv.ParseFloat(str, 64)
			if err != nil {
				bad("value %v: %v", p, err)
				return
			}
			values = append(values, v)
		}
	}
	switch name {
	case "balance":
		switch {
		case len(values) == 0 && !ranged:
			bad("200 with no value while the Service has a Ready pod")
		case len(a.Data.Result) > 1:
			bad("more than one series")
		case slices.ContainsFunc(values, func(v float64) bool { return v != 0 }):
			bad("sum(load) is not the count of pods up")
		case len(values) > 0:
			o.count("serve " + kind + " 0")
		}
	case "down_with_load", "up_without_load", "up_miscounted":
		if len(values) > 0 {
			bad("want no value")
		}
	case "rates":
		for _, v := range values {
			if !(v >= 0 && v <= 1+1e-9) {
				bad("rate %g outside [0, 1]", v)
			}
		}
		o.count("serve " + kind)
	case "load_series":
		if len(values) == 0 && !ranged {
			bad("200 with no value while the Service has a Ready pod")
		}
		for _, v := range values {
			if v != 1 {
				bad("load %g", v)
			}
		}
	}
	return ok
}
