package history

import (
	"context"
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
	h := newHistory(t, Options{Retention: 10 * time.Minute, SeriesLimit: 1 << 20})
	at := t0
	appendAt := func(sc Scrape) {
		t.Helper()
		if _, err := h.Append(context.Background(), at, []Scrape{sc}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(15 * time.Second)
	}
	for range 100 {
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0))
	}
	before := liveHeap()
	func() {
		sc := churnPod("p", "10.0.0.1", at, 2, 0)
		for i := range 200_000 {
			sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "spike", "id", strconv.Itoa(i),
				"instance", "10.0.0.1:8000", "namespace", "ns", "pod", "p"), T: at.UnixMilli(), V: 1})
		}
		appendAt(sc)
	}()
	for range 200 { // 50 minutes: the spike's series are long dropped
		appendAt(churnPod("p", "10.0.0.1", at, 2, 0))
	}
	after := liveHeap()
	runtime.KeepAlive(h)
	if st := h.churnState(); st.series != 5 {
		t.Fatalf("holds %d series, want 5", st.series)
	}
	if growth := int64(after) - int64(before); growth > 1<<20 {
		t.Errorf("the History of 5 series keeps %d KiB more than before a spike of 200,000 series dropped 40 minutes ago", growth>>10)
	}
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
	appendAt := func(sc Scrape) {
		t.Helper()
		if _, err := h.Append(context.Background(), at, []Scrape{sc}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(15 * time.Second)
	}
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
