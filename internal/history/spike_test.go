package history

import (
	"context"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// A pod that exposed 200,000 series once (a label's cardinality blowing up until a
// rollout fixes it), then its usual few: once the retention has dropped the spike's
// series, the History must not keep their room.
func TestSpikeRoomGivenBackAfterRetention(t *testing.T) {
	h, growth := spikeDropped(t, 200_000, func(i int) labels.Labels {
		return labels.FromStrings("__name__", "spike", "id", strconv.Itoa(i), "instance", "10.0.0.1:8000", "namespace", "ns", "pod", "p")
	})
	if st := h.churnState(); st.series != 5 {
		t.Fatalf("holds %d series, want 5", st.series)
	}
	if growth > 1<<20 {
		t.Errorf("the History of 5 series keeps %d KiB more than before a spike of 200,000 series dropped 40 minutes ago", growth>>10)
	}
}

// spikeDropped appends a pod's 5 series every 15 s for 25 minutes, then once n series
// more (spike(i) the labels of the i-th), then the 5 for 50 minutes: the retention of 10
// minutes has long dropped the spike. It returns the history and how much more its live
// heap holds than before the spike.
func spikeDropped(t *testing.T, n int, spike func(i int) labels.Labels) (*History, int64) {
	t.Helper()
	h := newHistory(t, Options{Retention: 10 * time.Minute, SeriesLimit: 1 << 20})
	at := t0
	appendAt := every15s(t, h, &at)
	for range 100 {
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0))
	}
	before := liveHeap()
	func() {
		sc := churnPod("p", "10.0.0.1", at, 2, 0)
		for i := range n {
			sc.Samples = append(sc.Samples, Sample{Labels: spike(i), T: at.UnixMilli(), V: 1})
		}
		appendAt(sc)
	}()
	for range 200 {
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0))
	}
	after := liveHeap()
	runtime.KeepAlive(h)
	return h, int64(after) - int64(before)
}

// Only the room of a spike gone is given back: a target whose series come and go
// (a pod exposing 2,000 more series every other scrape) keeps its series map, and a
// history whose retention drops half its series keeps its postings and its map of
// series, rather than making them anew at every scrape or truncation.
func TestRoomKeptWhileUsed(t *testing.T) {
	h := newHistory(t, Options{Retention: 10 * time.Minute, SeriesLimit: 1 << 20})
	at := t0
	appendAt := func(extra int) {
		t.Helper()
		sc := churnPod("p", "10.0.0.1", at, 2, 0)
		for i := range extra {
			sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "big", "id", strconv.Itoa(i),
				"instance", "10.0.0.1:8000", "namespace", "ns", "pod", "p"), T: at.UnixMilli(), V: 1})
		}
		if _, err := h.Append(context.Background(), at, []Scrape{sc}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(15 * time.Second)
	}
	seriesMap := func() unsafe.Pointer {
		h.mu.Lock()
		defer h.mu.Unlock()
		return reflect.ValueOf(h.targets["ns/p"].series).UnsafePointer()
	}
	index := func() (all **memSeries, byHash, ids unsafe.Pointer) {
		h.db.mu.RLock()
		defer h.db.mu.RUnlock()
		return &h.db.postings.all[0], reflect.ValueOf(h.db.byHash).UnsafePointer(),
			reflect.ValueOf(h.db.postings.values["id"]).UnsafePointer()
	}
	appendAt(2000)
	m := seriesMap()
	for i := range 3 * seriesShrinkAfter {
		appendAt(2000 * (i % 2))
		if seriesMap() != m {
			t.Fatalf("scrape %d of a pod exposing 2,000 series every other scrape made its series map anew", i)
		}
	}
	all, byHash, ids := index()
	for range 60 { // 15 minutes: the series of ids 1,000 to 1,999 are dropped
		appendAt(1000)
	}
	if st := h.churnState(); st.series != 1005 {
		t.Fatalf("holds %d series, want 1005", st.series)
	}
	if gotAll, gotByHash, gotIDs := index(); gotAll != all || gotByHash != byHash || gotIDs != ids {
		t.Errorf("dropping half the series made the index anew (all: %v, byHash: %v, values of id: %v)",
			gotAll != all, gotByHash != byHash, gotIDs != ids)
	}
}

// A spike in the values of a label the usual series have too (a path label taking a
// user id, beside path="/healthz") leaves that label's map of values holding the room
// of 200,000 values once the retention dropped them, unless it is made anew.
func TestSpikeOfValuesRoomGivenBackAfterRetention(t *testing.T) {
	h := newHistory(t, Options{Retention: 10 * time.Minute, SeriesLimit: 1 << 20})
	at := t0
	appendAt := every15s(t, h, &at)
	for range 100 {
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0, "path", "/healthz"))
	}
	before := liveHeap()
	func() {
		sc := churnPod("p", "10.0.0.1", at, 2, 0, "path", "/healthz")
		for i := range 200_000 {
			sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "requests", "path", "/user/"+strconv.Itoa(i),
				"instance", "10.0.0.1:8000", "namespace", "ns", "pod", "p"), T: at.UnixMilli(), V: 1})
		}
		appendAt(sc)
	}()
	for range 200 { // 50 minutes: the spike's series are long dropped
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0, "path", "/healthz"))
	}
	after := liveHeap()
	runtime.KeepAlive(h)
	if st := h.churnState(); st.series != 5 || st.values != 3+2+4 { // __name__ 3, model 2; path, instance, namespace, pod 1
		t.Fatalf("holds %d series and %d label values, want 5 and 9", st.series, st.values)
	}
	if growth := int64(after) - int64(before); growth > 1<<20 {
		t.Errorf("the History of 5 series keeps %d KiB more than before a spike of 200,000 values of its path label dropped 40 minutes ago", growth>>10)
	}
}

// A querier left open across many appends (a slow query, a caller of Queryable that
// closes late) makes every series keep where it stood at each of them, up to maxHist
// entries; once it is closed that room must go, whether no querier is open at the next
// append or others come and go as they do under a steady load of queries. It stayed:
// 2 KiB per series, more than the series' samples, for as long as the process ran.
func TestSlowQuerierRoomGivenBack(t *testing.T) {
	const series = 1000
	h := newHistory(t, Options{Retention: time.Hour})
	at := t0
	appendAt := func() {
		t.Helper()
		sc := Scrape{Target: "ns/p", Time: at}
		for i := range series {
			sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "x", "id", strconv.Itoa(i)), T: at.UnixMilli(), V: 1})
		}
		mustAppend(t, h, at, sc)
		at = at.Add(15 * time.Second)
	}
	// histRoom returns the bytes the series keep for open queriers, and the most
	// entries one keeps.
	histRoom := func() (room, most int) {
		h.db.mu.RLock()
		defer h.db.mu.RUnlock()
		for _, ms := range h.db.postings.all {
			room += cap(ms.epochs()) * int(unsafe.Sizeof(epochT{}))
			most = max(most, len(ms.epochs()))
		}
		return room, most
	}
	// The room of a series whose queriers read its last two appends: a few entries.
	const want = series * 4 * int(unsafe.Sizeof(epochT{}))
	appendAt()
	slow := openQuerier(t, h, math.MinInt64, math.MaxInt64)
	for range maxHist + 6 {
		appendAt()
	}
	if _, most := histRoom(); most != maxHist {
		t.Fatalf("with a querier open for %d appends, the series keep up to %d entries, want %d", maxHist+6, most, maxHist)
	}
	// Queriers come and go: each append has one of the one before open.
	q := openQuerier(t, h, math.MinInt64, math.MaxInt64)
	slow.Close()
	for range 3 {
		appendAt()
		next := openQuerier(t, h, math.MinInt64, math.MaxInt64)
		q.Close()
		q = next
	}
	if room, most := histRoom(); room > want {
		t.Errorf("queriers of the last append open, the slow one closed: the series keep %d bytes for at most %d entries, want at most %d", room, most, want)
	}
	q.Close()
	appendAt()
	if room, most := histRoom(); room > want || most > 0 {
		t.Errorf("no querier open: the series keep %d bytes for at most %d entries, want at most %d bytes for none", room, most, want)
	}
}

// every15s returns a func that appends a scrape to h at *at, then moves *at on by 15 s.
func every15s(t *testing.T, h *History, at *time.Time) func(Scrape) {
	return func(sc Scrape) {
		t.Helper()
		if _, err := h.Append(context.Background(), *at, []Scrape{sc}); err != nil {
			t.Fatal(err)
		}
		*at = at.Add(15 * time.Second)
	}
}

// rollout is the scrape at at of the 10 pods of a Deployment's rollout gen: each
// rollout brings new pod names, IPs and a new pod-template-hash.
func rollout(gen int, at time.Time) []Scrape {
	hash := strconv.FormatUint(uint64(gen)*2654435761%(1<<32), 16)
	out := make([]Scrape, 0, 10)
	for p := range 10 {
		out = append(out, churnPod("vllm-"+hash+"-"+strconv.Itoa(p), "10."+strconv.Itoa(gen>>8%256)+"."+strconv.Itoa(gen%256)+"."+strconv.Itoa(p),
			at, 2, 0, "pod_template_hash", hash))
	}
	return out
}

// Months of pod churn through a short retention: 20,000 pod names (2,000 rollouts of 10
// pods) leave the History of 10 live pods about its size before them, and so does a
// scale-up to 20,000 pods and back to 10. Rollouts kept nothing (a target or label value
// the retention dropped leaves the maps); the scale-up left the map of targets with the
// room of 20,000 (a Go map never shrinks): 860 KiB, for as long as the process ran.
func TestPodChurnRoomGivenBack(t *testing.T) {
	h := newHistory(t, Options{Retention: 2 * time.Minute, SeriesLimit: 1 << 20})
	at := t0
	appendAt := func(scrapes []Scrape) {
		t.Helper()
		if _, err := h.Append(context.Background(), at, scrapes); err != nil {
			t.Fatal(err)
		}
		at = at.Add(15 * time.Second)
	}
	gen := 0
	settled := func() {
		t.Helper()
		gen++
		for range 40 { // 10 minutes: what came before is long dropped
			appendAt(rollout(gen, at))
		}
		if st := h.churnState(); st.series != 50 || st.targets != 10 || st.values != 27 {
			t.Fatalf("holds %d series, %d targets, %d label values, want 50, 10, 27", st.series, st.targets, st.values)
		}
	}
	settled()
	before := liveHeap()
	check := func(what string) {
		t.Helper()
		settled()
		after := liveHeap()
		runtime.KeepAlive(h)
		if growth := int64(after) - int64(before); growth > 256<<10 {
			t.Errorf("after %s, the History of 10 pods keeps %d KiB more than before", what, growth>>10)
		}
	}

	for range 2000 {
		gen++
		appendAt(rollout(gen, at))
	}
	check("2,000 rollouts of 10 pods (20,000 pod names)")

	func() {
		var many []Scrape
		for range 2000 {
			gen++
			many = append(many, rollout(gen, at)...)
		}
		for range 4 {
			for i := range many {
				many[i].Time = at
				for j := range many[i].Samples {
					many[i].Samples[j].T = at.UnixMilli()
				}
			}
			appendAt(many)
		}
	}()
	check("a scale-up to 20,000 pods and back to 10")
}

// A label-name spike (an exporter that put an id in a label's name, until a rollout
// fixed it) leaves the index's map of label names with the room of 100,000 names once
// the retention dropped them, unless it is made anew: 6.8 MiB, for as long as the
// process ran.
func TestSpikeOfLabelNamesRoomGivenBack(t *testing.T) {
	h, growth := spikeDropped(t, 100_000, func(i int) labels.Labels {
		return labels.FromStrings("__name__", "spike", "id_"+strconv.Itoa(i), "1", "instance", "10.0.0.1:8000", "namespace", "ns", "pod", "p")
	})
	if st := h.churnState(); st.series != 5 || st.names != 5 {
		t.Fatalf("holds %d series and %d label names, want 5 and 5", st.series, st.names)
	}
	if growth > 1<<20 {
		t.Errorf("the History of 5 series keeps %d KiB more than before a spike of 100,000 label names dropped 40 minutes ago", growth>>10)
	}
}
