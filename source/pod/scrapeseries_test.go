package pod

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// ScrapeSeries labels every sample as Refresh's all_metrics values labelled as series
// (namespace, instance) plus the extra labels, renaming every exposed label a target
// label takes to exported_<name> as the label maps do; each pod's samples in exposition
// order then up, scrape_duration_seconds and scrape_samples_scraped; a failed pod has
// its error, up 0 and no exposed sample; extra labels the source sets are refused.
func TestScrapeSeriesMatchesRefresh(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("scrapeseries-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next(), block.Next()}
	bodies := map[string]string{
		ips[0]: "# TYPE queue gauge\nqueue{model_name=\"m\"} 3\nplain 1\nstamped{a=\"b\"} 7 1700000000123\n",
		ips[1]: "# TYPE queue gauge\n" +
			"queue{model_name=\"m\",pod=\"exposed-pod\",exported_pod=\"x\",llm_d_ai_variant=\"exposed\",instance=\"engine-1\",namespace=\"exposed-ns\",job=\"exposed-job\",exported_job=\"y\"} 5\n" +
			"other{namespace=\"n\"} 2\n",
		ips[2]: "good 1\nnot an exposition{\n", // fails half-way: the good sample is dropped too
	}
	port, _ := servePods(t, ctx, ns, "vllm", ips, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(bodies[ip]))
		})
	})
	for i := range ips {
		l := map[string]string{"app": "vllm", "llm-d.ai/variant": fmt.Sprintf("v%d", i)}
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("vllm-%d", i), Labels: l, IP: ips[i], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clocktesting.NewFakePassiveClock(time.Now())
	reg := prometheus.NewRegistry()
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port, PodLabels: []string{"llm-d.ai/variant"},
		Clock: clk, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, bad := range []string{"pod", "instance", "namespace", "__name__", "llm_d_ai_variant", "9x"} {
		if _, err := s.ScrapeSeries(ctx, labels.Label{Name: bad, Value: "v"}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("extra label %q: got error %v, want one naming it", bad, err)
		}
	}
	if _, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "a"}, labels.Label{Name: "job", Value: "b"}); err == nil {
		t.Error("extra label job twice: no error")
	}

	clk.SetTime(clk.Now().Add(time.Hour))
	first, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "vllm"})
	if err != nil {
		t.Fatal(err)
	}
	// The data is as old as this scrape: the cache age counts from it.
	if age := gaugeValue(t, reg, "podscrape_cache_age_seconds"); age != 0 {
		t.Errorf("podscrape_cache_age_seconds after ScrapeSeries: %g, want 0", age)
	}
	// The first scrape's series, read before the second reuses its slices.
	firstSeries := map[string][]string{}
	for _, p := range first {
		for _, smp := range p.Samples {
			firstSeries[p.Pod] = append(firstSeries[p.Pod], smp.Labels.String())
		}
	}
	// The caller's Ref slots, filled after the first scrape, come back with the second.
	refs := map[string]*any{}
	firstSamples := map[string]*SeriesSample{}
	for _, p := range first {
		if len(p.Samples) > 0 {
			firstSamples[p.Pod] = &p.Samples[0]
		}
		for _, smp := range p.Samples {
			if smp.Ref == nil {
				t.Fatalf("%s: no Ref slot", smp.Labels)
			}
			*smp.Ref = smp.Labels.String()
			refs[smp.Labels.String()] = smp.Ref
		}
	}
	// The second scrape labels its series from the pods' series caches.
	pods, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "vllm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if len(p.Samples) > 0 && &p.Samples[0] != firstSamples[p.Pod] {
			t.Errorf("%s: the second scrape's samples are in a new slice, want the first's reused", p.Pod)
		}
		for _, smp := range p.Samples {
			if want := refs[smp.Labels.String()]; smp.Ref != want || *smp.Ref != smp.Labels.String() {
				t.Errorf("%s: Ref slot %p holding %v at the second scrape, want the first's %p holding its labels", smp.Labels, smp.Ref, *smp.Ref, want)
			}
		}
	}
	if got := s.Metadata()["queue"].Type; got != "gauge" {
		t.Errorf("Metadata of queue: type %q, want gauge (ScrapeSeries records it)", got)
	}
	results, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{AllMetricsQuery}})
	if err != nil {
		t.Fatal(err)
	}
	// What the label maps give: Refresh's values, then namespace, instance and job each
	// added, an exposed label of its name kept as exported_<name>.
	want := map[string][]string{}
	for _, v := range results[AllMetricsQuery].Values {
		pod := v.Labels["pod"]
		m := maps.Clone(v.Labels)
		ip := ips[pod[len(pod)-1]-'0']
		for _, l := range []labels.Label{{Name: "namespace", Value: ns}, {Name: "instance", Value: fmt.Sprintf("%s:%d", ip, port)}, {Name: "job", Value: "vllm"}} {
			if old, ok := v.Labels[l.Name]; ok {
				m[exportedName(v.Labels, l.Name)] = old
			}
			m[l.Name] = l.Value
		}
		want[pod] = append(want[pod], labels.FromMap(m).String())
	}
	if len(pods) != len(ips) {
		t.Fatalf("got %d pods, want %d", len(pods), len(ips))
	}
	for i, p := range pods {
		if p.Pod != fmt.Sprintf("vllm-%d", i) {
			t.Errorf("pod %d: %q, want pods sorted by name", i, p.Pod)
		}
		var got []string
		for _, smp := range p.Samples {
			got = append(got, smp.Labels.String())
		}
		if !slices.Equal(got, want[p.Pod]) {
			t.Errorf("%s series:\n got %q\nwant %q", p.Pod, got, want[p.Pod])
		}
		if gotFirst := firstSeries[p.Pod]; !slices.Equal(gotFirst, got) {
			t.Errorf("%s series of the first scrape:\n got %q\nwant %q", p.Pod, gotFirst, got)
		}
		wantTarget := fmt.Sprintf(`{instance="%s:%d", job="vllm", llm_d_ai_variant="v%d", namespace="%s", pod="%s"}`, ips[i], port, i, ns, p.Pod)
		if p.Target.String() != wantTarget {
			t.Errorf("%s target: got %s, want %s", p.Pod, p.Target, wantTarget)
		}
		n := len(p.Samples)
		if n < 3 || p.Samples[n-3].Labels.Get("__name__") != "up" || p.Samples[n-2].Labels.Get("__name__") != "scrape_duration_seconds" ||
			p.Samples[n-1].Labels.Get("__name__") != "scrape_samples_scraped" {
			t.Fatalf("%s: samples do not end in up, scrape_duration_seconds, scrape_samples_scraped: %v", p.Pod, got)
		}
		for _, smp := range p.Samples {
			if smp.Labels.Get("__name__") == "stamped" {
				if smp.T != 1700000000123 || !smp.OwnTimestamp || smp.V != 7 {
					t.Errorf("stamped: T %d, own %v, V %g; want 1700000000123, true, 7", smp.T, smp.OwnTimestamp, smp.V)
				}
			} else if smp.T != p.ScrapedAt.UnixMilli() || smp.OwnTimestamp {
				t.Errorf("%s: T %d, own %v; want the scrape's start %d", smp.Labels, smp.T, smp.OwnTimestamp, p.ScrapedAt.UnixMilli())
			}
		}
		up := p.Samples[n-3].V
		switch {
		case i < 2 && (!p.Up || p.Err != nil || up != 1):
			t.Errorf("%s: up %v (%g), err %v; want up", p.Pod, p.Up, up, p.Err)
		case i == 2:
			var se *ScrapeError
			if p.Up || !errors.As(p.Err, &se) || up != 0 || n != 3 {
				t.Errorf("%s: up %v (%g), err %v, %d samples; want a *ScrapeError, up 0 and only the synthetic samples", p.Pod, p.Up, up, p.Err, n)
			}
		}
	}
}

// ScrapeSeries calls are serialised: a call holds the source's series lock while its
// pods answer, so a second call waits instead of reusing the slices the first still
// reads.
func TestScrapeSeriesSerialised(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("scrapeseries-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	servers, err := localcluster.ServeAll([]string{ip}, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			entered <- struct{}{}
			<-release
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("# TYPE queue gauge\nqueue 1\n"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = servers[0].Close() })
	port := int32(servers[0].Port)
	if err := cp.CreateService(ctx, ns, "vllm", map[string]string{"app": "vllm"}, port); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-0", Labels: map[string]string{"app": "vllm"}, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error)
	go func() {
		_, err := s.ScrapeSeries(ctx)
		done <- err
	}()
	<-entered // the pod is answering the call
	select {
	case s.seriesTurn <- struct{}{}:
		<-s.seriesTurn
		t.Error("ScrapeSeries does not hold its turn while its pods answer")
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A pod's series cache finds a series by its hash and name, and keeps the caller's Ref
// slot with it; it is emptied when the pod's target labels change, and forgets the series
// a successful scrape did not see (a failed one forgets none); caches of pods gone are
// dropped.
func TestSeriesCache(t *testing.T) {
	var c seriesCaches
	a := []labels.Label{{Name: "pod", Value: "p"}, {Name: "instance", Value: "1.2.3.4:80"}}
	built := 0
	build := func(smp *exposition.Sample) labels.Labels {
		built++
		return labels.FromStrings("__name__", smp.Name, "x", smp.Labels[0].Value)
	}
	// Series m{x="<v>"}, their hash being v's number (the parser's hash in a scrape).
	sample := func(name, v string) *exposition.Sample {
		h, _ := strconv.ParseUint(v, 10, 64)
		return &exposition.Sample{Name: name, Labels: []exposition.Label{{Name: "x", Value: v}}, Hash: h}
	}
	var refs []*any
	scrape := func(target []labels.Label, ok bool, values ...string) []string {
		sc := c.take("ns/p", target)
		var out []string
		refs = refs[:0]
		for _, v := range values {
			e := sc.entry(sample("m", v), build)
			out = append(out, e.labels.String())
			refs = append(refs, &e.ref)
		}
		c.put("ns/p", sc, ok)
		return out
	}
	if got := scrape(a, true, "1", "2"); built != 2 || got[0] != `{__name__="m", x="1"}` || got[1] != `{__name__="m", x="2"}` {
		t.Fatalf("first scrape: %q, %d built", got, built)
	}
	*refs[0] = "the caller's handle on 1"
	if scrape(a, true, "1", "2"); built != 2 {
		t.Errorf("second scrape of the same series built %d, want none", built-2)
	}
	if *refs[0] != "the caller's handle on 1" || *refs[1] != nil {
		t.Errorf("Ref slots at the second scrape: %v, %v; want the handle set after the first, nil", *refs[0], *refs[1])
	}
	// Another name under the same hash is another series: built, not taken for m.
	// A scrape that replaces an entry so still forgets the series it did not see (x).
	sc := c.take("ns/q", a)
	sc.entry(sample("x", "9"), build)
	c.put("ns/q", sc, true)
	sc = c.take("ns/q", a)
	m, other := sc.entry(sample("m", "1"), build), sc.entry(sample("other", "1"), build)
	if built != 5 || other.labels.Get("__name__") != "other" || other == m {
		t.Errorf("a sample of another name with m's hash got %s, %d built; want its own labels", other.labels, built-2)
	}
	c.put("ns/q", sc, true)
	if _, kept := sc.entries[9]; kept {
		t.Error("x, not seen by the scrape that replaced m's entry, was kept")
	}
	built = 2
	scrape(a, false, "1") // failed: 2 is kept
	if scrape(a, true, "2"); built != 2 {
		t.Errorf("a failed scrape forgot a series: built %d", built-2)
	}
	if scrape(a, true, "1"); built != 3 { // 1 was not seen by the last successful scrape
		t.Errorf("a series the last scrape did not see was kept: built %d, want 3", built)
	}
	b := []labels.Label{{Name: "pod", Value: "p"}, {Name: "instance", Value: "1.2.3.5:80"}}
	if scrape(b, true, "1"); built != 4 {
		t.Errorf("new target labels: built %d, want 4 (the cache emptied)", built)
	}
	c.keep(nil)
	if len(c.byPod) != 0 {
		t.Errorf("caches of pods gone kept: %v", c.byPod)
	}
}

// gaugeValue is the value of the one gauge called name in reg.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// ScrapeSeriesReport says, with the pods it scraped (each with its UID), which pods the
// Service selects it did not scrape and why, by name and UID, from the same discovery:
// a pod not Ready and one finished are; one terminating (a scale-down) is not.
func TestScrapeSeriesReportsUnscrapedPods(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("scrapeseries-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	names := []string{"d-terminating", "c-finished", "b-not-ready", "a"}
	var ips []string
	for range names {
		ips = append(ips, block.Next())
	}
	port, sel := servePods(t, ctx, ns, "vllm", ips, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("# TYPE queue gauge\nqueue 1\n"))
		})
	})
	uids := map[string]string{}
	for i, n := range names {
		p, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[i], Ready: true})
		if err != nil {
			t.Fatal(err)
		}
		uids[n] = string(p.UID)
	}
	setReady(t, ns, "b-not-ready", false)
	updatePod(t, ns, "c-finished", true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })
	updatePod(t, ns, "d-terminating", false, func(p *corev1.Pod) { p.Finalizers = append(p.Finalizers, "podscrape.test/terminating") })
	if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d-terminating"}}); err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.ScrapeSeriesReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pods) != 1 || r.Pods[0].Pod != "a" || string(r.Pods[0].UID) != uids["a"] || !r.Pods[0].Up {
		t.Errorf("pods scraped: got %+v, want a alone, up, with UID %s", r.Pods, uids["a"])
	}
	want := []UnscrapedPod{
		{Pod: "b-not-ready", UID: types.UID(uids["b-not-ready"]), Why: "not Ready"},
		{Pod: "c-finished", UID: types.UID(uids["c-finished"]), Why: "finished (Failed)"},
	}
	if !slices.Equal(r.Unscraped, want) {
		t.Errorf("unscraped: got %+v, want %+v (sorted by name, the terminating pod left out)", r.Unscraped, want)
	}
	if pods, err := s.ScrapeSeries(ctx); err != nil || len(pods) != 1 || pods[0].UID != r.Pods[0].UID {
		t.Errorf("ScrapeSeries: got %+v, %v, want pod a with its UID", pods, err)
	}
}
