package history

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// churnInterval is the scrape interval of the churn tests.
const churnInterval = 15 * time.Second

// churnScenario is a Service whose pods and series change over time: scrapes returns
// what the scrape numbered n gives, and perScrape is the most series one scrape exposes.
type churnScenario struct {
	name      string
	perScrape int
	scrapes   func(n int, at time.Time) []Scrape
}

// churnPod is one pod's scrape: per model, a counter growing by 10 a second (from
// counterStart at t0) and a gauge, labelled as the source labels them, plus up; extra
// labels are added to each series.
func churnPod(name, ip string, at time.Time, models int, counterStart float64, extra ...string) Scrape {
	sc := Scrape{Target: "ns/" + name, Time: at}
	add := func(metric string, v float64, kv ...string) {
		kv = append(append([]string{"__name__", metric, "namespace", "ns", "pod", name, "instance", ip + ":8000"}, kv...), extra...)
		sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings(kv...), T: at.UnixMilli(), V: v})
	}
	for m := range models {
		model := fmt.Sprintf("model-%d", m)
		add("requests_total", counterStart+10*at.Sub(t0).Seconds(), "model", model)
		add("queue", 1, "model", model)
	}
	add("up", 1)
	return sc
}

var churnScenarios = []churnScenario{
	{
		// A Deployment of 10 pods rolled every 4 minutes: one pod replaced per scrape,
		// each with a new name and IP.
		name: "rolling restarts", perScrape: 10 * 5,
		scrapes: func(n int, at time.Time) []Scrape {
			var out []Scrape
			for p := range 10 {
				gen := (n + p) / 16 // pod p is replaced when n+p crosses a multiple of 16
				born := float64((16*gen - p) * int(churnInterval/time.Second))
				out = append(out, churnPod(fmt.Sprintf("vllm-%d-%d", p, gen), fmt.Sprintf("10.0.%d.%d", gen%250, p), at, 2, -10*born))
			}
			return out
		},
	},
	{
		// 3 pods whose 20 series carry a request id that changes at every scrape.
		name: "label value per scrape", perScrape: 3 * 21,
		scrapes: func(n int, at time.Time) []Scrape {
			var out []Scrape
			for p := range 3 {
				sc := Scrape{Target: fmt.Sprintf("ns/p-%d", p), Time: at}
				for i := range 20 {
					sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "inflight", "pod", fmt.Sprintf("p-%d", p),
						"request_id", fmt.Sprintf("req-%d-%d", n, i)), T: at.UnixMilli(), V: 1})
				}
				sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "up", "pod", fmt.Sprintf("p-%d", p)), T: at.UnixMilli(), V: 1})
				out = append(out, sc)
			}
			return out
		},
	},
	{
		// A Service scaled 0 -> 50 -> 0 every 5 minutes, new pods each time.
		name: "scaled 0 to 50 to 0", perScrape: 50 * 3,
		scrapes: func(n int, at time.Time) []Scrape {
			cycle := n / 20
			if n%20 >= 10 {
				return nil
			}
			var out []Scrape
			for p := range 50 {
				out = append(out, churnPod(fmt.Sprintf("w-%d-%d", cycle, p), fmt.Sprintf("10.1.%d.%d", cycle%250, p), at, 1, 0))
			}
			return out
		},
	},
	{
		// Metrics that come and go: each pod exposes a different tenth of 100 metrics every
		// minute, each half of the time.
		name: "metrics come and go", perScrape: 5 * 11,
		scrapes: func(n int, at time.Time) []Scrape {
			var out []Scrape
			for p := range 5 {
				sc := Scrape{Target: fmt.Sprintf("ns/m-%d", p), Time: at}
				for i := range 10 {
					if (n+i)%2 == 0 {
						continue
					}
					name := fmt.Sprintf("metric_%d", (n/4*10+i)%100)
					sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", name, "pod", fmt.Sprintf("m-%d", p)), T: at.UnixMilli(), V: float64(n)})
				}
				sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "up", "pod", fmt.Sprintf("m-%d", p)), T: at.UnixMilli(), V: 1})
				out = append(out, sc)
			}
			return out
		},
	},
	{
		// A StatefulSet of 5 whose pods come back under their names with a new IP every
		// 2 minutes, one of them down for a scrape each time.
		name: "statefulset new IPs", perScrape: 5 * 5,
		scrapes: func(n int, at time.Time) []Scrape {
			var out []Scrape
			for p := range 5 {
				if (n+p*3)%8 == 7 {
					continue // restarting
				}
				gen := (n + p*3) / 8
				out = append(out, churnPod(fmt.Sprintf("s-%d", p), fmt.Sprintf("10.2.%d.%d", gen%250, p), at, 2, 0))
			}
			return out
		},
	},
}

// churnState is what a History holds at one moment.
type churnState struct {
	series, all, byHash, names, values, targets, entries int
	heap                                                 uint64
}

func (h *History) churnState() churnState {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.db.mu.RLock()
	defer h.db.mu.RUnlock()
	st := churnState{series: h.db.numSeries(), all: len(h.db.postings.all), byHash: len(h.db.byHash),
		names: len(h.db.postings.values), targets: len(h.targets)}
	for _, vals := range h.db.postings.values {
		st.values += len(vals)
	}
	for _, ts := range h.targets {
		st.entries += len(ts.series)
	}
	return st
}

// Weeks of churn in a few seconds: the series, index entries and targets a History holds
// stay within what its retention can hold (the series of the scrapes of 1.25 retentions,
// as truncation runs every quarter retention), so the series limit is never exhausted
// by series long gone, and the live heap after a GC is flat once warm.
func TestChurnKeepsTheHistoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("appends hours of scrapes")
	}
	const retention = 10 * time.Minute
	// The scrapes whose series one History may hold: 1.25 retentions, and the one at
	// the bound.
	held := int(retention*5/4/churnInterval) + 2
	for _, sc := range churnScenarios {
		t.Run(sc.name, func(t *testing.T) {
			limit := sc.perScrape * held
			h := newHistory(t, Options{Retention: retention, SeriesLimit: limit})
			at := t0
			n := 0
			run := func(scrapes int) churnState {
				var most churnState
				for range scrapes {
					if _, err := h.Append(context.Background(), at, sc.scrapes(n, at)); err != nil {
						t.Fatalf("scrape %d at %s: %v", n, at, err)
					}
					st := h.churnState()
					if st.series != st.all || st.series < st.byHash {
						t.Fatalf("scrape %d: %d series counted, %d in the index, %d label hashes", n, st.series, st.all, st.byHash)
					}
					most.series = max(most.series, st.series)
					most.values = max(most.values, st.values)
					most.names = max(most.names, st.names)
					most.targets = max(most.targets, st.targets)
					most.entries = max(most.entries, st.entries)
					n++
					at = at.Add(churnInterval)
				}
				return most
			}
			// Warm: two hours, then two cycles of three hours each, compared.
			run(2 * 240)
			first := run(3 * 240)
			first.heap = liveHeap()
			second := run(3 * 240)
			second.heap = liveHeap()
			t.Logf("first: %+v; second: %+v", first, second)
			if second.series > limit || second.entries > sc.perScrape || second.targets > sc.perScrape {
				t.Errorf("held %d series (bound %d), %d target entries and %d targets (bound %d)",
					second.series, limit, second.entries, second.targets, sc.perScrape)
			}
			if second.series > first.series || second.values > first.values || second.names > first.names {
				t.Errorf("the index grew from one cycle to the next: %+v, then %+v", first, second)
			}
			if growth := int64(second.heap) - int64(first.heap); growth > 1<<20 {
				t.Errorf("live heap grew %d KiB over three hours of churn (%d KiB, then %d KiB)",
					growth>>10, first.heap>>10, second.heap>>10)
			}
		})
	}
}

// slotsOf gives every sample of scrapes the caller's slot of its series, as the pod
// source's series cache does: the same slot while the pod keeps exposing the series, a
// new one once it did not at a scrape.
type slotsOf map[string]map[string]*any

func (s slotsOf) fill(scrapes []Scrape) {
	for i := range scrapes {
		sc := &scrapes[i]
		old, now := s[sc.Target], map[string]*any{}
		for j := range sc.Samples {
			key := sc.Samples[j].Labels.String()
			slot := old[key]
			if slot == nil {
				slot = new(any)
			}
			now[key], sc.Samples[j].Ref = slot, slot
		}
		s[sc.Target] = now
	}
	for target := range s {
		if !slicesContainsTarget(scrapes, target) {
			delete(s, target)
		}
	}
}

func slicesContainsTarget(scrapes []Scrape, target string) bool {
	for i := range scrapes {
		if scrapes[i].Target == target {
			return true
		}
	}
	return false
}

// Through every kind of churn, an instant query right after a scrape, and until the
// next, reads exactly the series that scrape exposed, as Prometheus' staleness rules
// have it: the pods and series gone have a staleness marker, so no sum adds a gone pod's
// last value to the new pods' (with Ref slots, as serve appends, and without).
func TestChurnReadsOnlyTheLatestScrape(t *testing.T) {
	for _, sc := range churnScenarios {
		for _, refs := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/refs=%v", sc.name, refs), func(t *testing.T) {
				h := newHistory(t, Options{})
				slots := slotsOf{}
				at := t0
				for n := range 240 {
					scrapes := sc.scrapes(n, at)
					if refs {
						slots.fill(scrapes)
					}
					want := map[string]int{}
					for _, s := range scrapes {
						for _, smp := range s.Samples {
							want[smp.Labels.Get(labels.MetricName)]++
						}
					}
					if _, err := h.Append(context.Background(), at, scrapes); err != nil {
						t.Fatalf("scrape %d: %v", n, err)
					}
					for _, when := range []time.Time{at, at.Add(churnInterval - time.Millisecond)} {
						res, err := h.Query(context.Background(), `count by (__name__) ({__name__=~".+"})`, when)
						if err != nil {
							t.Fatal(err)
						}
						got := map[string]int{}
						for _, p := range res.Points {
							got[p.Metric.Get(labels.MetricName)] = int(p.V)
						}
						if fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("scrape %d, %s after it: series by name %v, want %v (what the scrape exposed)", n, when.Sub(at), got, want)
						}
					}
					at = at.Add(churnInterval)
				}
			})
		}
	}
}

// A rate over 5m across rolling restarts (one pod of 10 replaced at every other scrape,
// each new pod's counter starting at 0) adds up each model's rate over the old and the
// new pods without counting a pod twice: 100/s per model, less what Prometheus'
// extrapolation leaves out at each replacement (half a scrape interval at the end of the
// old pod's series, none before the new one's first sample, which is at 0): about 3%.
func TestRateAcrossRollingRestarts(t *testing.T) {
	h := newHistory(t, Options{})
	at := t0
	for n := range 200 {
		if _, err := h.Append(context.Background(), at, churnScenarios[0].scrapes(n, at)); err != nil {
			t.Fatal(err)
		}
		if n >= 40 {
			for _, expr := range []string{`sum by (model) (rate(requests_total[5m]))`, `sum by (model) (increase(requests_total[5m])) / 300`} {
				res, err := h.Query(context.Background(), expr, at)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Points) != 2 {
					t.Fatalf("scrape %d: %s: %d series, want one per model", n, expr, len(res.Points))
				}
				for _, p := range res.Points {
					if p.V < 95 || p.V > 100 {
						t.Fatalf("scrape %d: %s%s = %g, want 95 to 100 (10 pods at 10/s)", n, expr, p.Metric, p.V)
					}
				}
			}
		}
		at = at.Add(churnInterval)
	}
}

// A series limit filled by churn (a label value new at every scrape) is not exhausted
// for ever: once the churn stops, the series gone are dropped with the retention (within
// 1.25 retentions) and a new pod's series are admitted again.
func TestSeriesLimitFilledByChurnRecovers(t *testing.T) {
	const retention = 4 * time.Minute
	h := newHistory(t, Options{Retention: retention, SeriesLimit: 100})
	churn := func(n int, at time.Time) Scrape {
		sc := Scrape{Target: "ns/noisy", Time: at}
		for i := range 20 {
			sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "inflight", "pod", "noisy",
				"request_id", fmt.Sprintf("%d-%d", n, i)), T: at.UnixMilli(), V: 1})
		}
		return sc
	}
	at := t0
	refused := false
	for n := range 40 {
		st, _ := h.Append(context.Background(), at, []Scrape{churn(n, at)})
		refused = refused || st.Refused > 0
		at = at.Add(churnInterval)
	}
	if !refused {
		t.Fatal("the churn never filled the limit: the test proves nothing")
	}
	stopped := at
	for ; ; at = at.Add(churnInterval) {
		st, err := h.Append(context.Background(), at, []Scrape{scrape("ns/new", at, "queue", 1.0)})
		if err == nil && st.Refused == 0 {
			break
		}
		if at.Sub(stopped) > retention*5/4+churnInterval {
			t.Fatalf("%s after the churn stopped, a new pod's series are still refused (%d series held): %v", at.Sub(stopped), h.NumSeries(), err)
		}
	}
	if got := query(t, h, "queue", at); got["ns/new"] != 1 {
		t.Errorf("queue once admitted: %v, want the new pod's 1", got)
	}
}
