package history

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// withRefs gives every sample of sc the caller's slot of its series name in slots.
func withRefs(sc Scrape, slots map[string]*any) Scrape {
	for i := range sc.Samples {
		name := sc.Target + "/" + sc.Samples[i].Labels.Get(labels.MetricName)
		if slots[name] == nil {
			slots[name] = new(any)
		}
		sc.Samples[i].Ref = slots[name]
	}
	return sc
}

// A sample with a Ref slot is stored in its series as one without: the slot is filled
// on the first Append and used by the next, and a series that vanished and came back
// through the same slot is still marked stale when it vanishes again.
func TestRefSlots(t *testing.T) {
	h := newHistory(t, Options{})
	slots := map[string]*any{}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	mustAppend(t, h, at(0), withRefs(scrape("a", at(0), "queue", 1.0), slots))
	if _, ok := (*slots["a/queue"]).(*memSeries); !ok {
		t.Fatalf("the slot after the first Append holds %T, want the history's handle", *slots["a/queue"])
	}
	mustAppend(t, h, at(1), withRefs(scrape("a", at(1), "queue", 2.0), slots))
	if got := query(t, h, "count_over_time(queue[5s])", at(1)); got["a"] != 2 {
		t.Errorf("samples stored through the slot: %v, want 2 in a's series", got)
	}

	// queue vanishes (a marker), comes back through the same slot, vanishes again: the
	// second marker must be written, or the series would read 3 for 5 minutes.
	mustAppend(t, h, at(2), withRefs(scrape("a", at(2), "up", 1.0), slots))
	mustAppend(t, h, at(3), withRefs(scrape("a", at(3), "queue", 3.0), slots))
	if st := mustAppend(t, h, at(4), withRefs(scrape("a", at(4), "up", 1.0), slots)); st.StaleMarkers != 1 {
		t.Errorf("StaleMarkers when queue vanished the second time = %d, want 1", st.StaleMarkers)
	}
	if got := query(t, h, "queue", at(4)); len(got) != 0 {
		t.Errorf("queue after it vanished again = %v, want nothing (stale)", got)
	}
	if got := query(t, h, "count_over_time(queue[10s])", at(4)); got["a"] != 3 {
		t.Errorf("queue's samples = %v, want 3 in one series", got)
	}
}

// A slot holding a handle on another target's series, or on other labels, is not
// trusted: the sample goes to the series its labels and target name.
func TestRefSlotsOfOtherSeriesIgnored(t *testing.T) {
	h := newHistory(t, Options{})
	slots := map[string]*any{}
	mustAppend(t, h, t0, withRefs(scrape("a", t0, "queue", 1.0), slots), withRefs(scrape("b", t0, "queue", 10.0), slots))

	t1 := t0.Add(time.Second)
	swapped := scrape("a", t1, "queue", 2.0)
	swapped.Samples[0].Ref = slots["b/queue"] // b's series, same name: another target
	other := scrape("b", t1, "queue", 20.0)
	other.Samples[0].Ref = slots["a/queue"]
	mustAppend(t, h, t1, swapped, other)
	if got := query(t, h, "queue", t1); got["a"] != 2 || got["b"] != 20 {
		t.Errorf("queue with swapped slots = %v, want a 2 and b 20", got)
	}

	t2 := t1.Add(time.Second)
	relabelled := scrape("a", t2, "queue", 3.0, "waiting", 4.0)
	relabelled.Samples[0].Ref = slots["a/queue"]
	relabelled.Samples[1].Ref = slots["a/queue"] // waiting through queue's slot
	mustAppend(t, h, t2, relabelled, scrape("b", t2, "queue", 30.0))
	if got := query(t, h, "queue", t2); got["a"] != 3 {
		t.Errorf("queue = %v, want a 3", got)
	}
	if got := query(t, h, "waiting", t2); got["a"] != 4 {
		t.Errorf("waiting through queue's slot = %v, want a 4 in its own series", got)
	}
}

// Two targets exposing the same series (labels without the target's) share it: it
// belongs to the one that exposed it last, and the other's vanishing writes no marker
// over it (doc.go; a slot of one given to the other is not trusted, but finds the series
// through its labels). Once its owner stops exposing it, it is marked stale.
func TestRefSlotOfAnotherTargetsSameSeries(t *testing.T) {
	h := newHistory(t, Options{})
	shared := func(target string, at time.Time, slot *any) Scrape {
		return Scrape{Target: target, Time: at, Samples: []Sample{{Labels: labels.FromStrings("__name__", "shared"), T: at.UnixMilli(), V: 1, Ref: slot}}}
	}
	sa, sb := new(any), new(any)
	t1, t2, t3 := t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second)
	mustAppend(t, h, t0, shared("b", t0, sb))
	mustAppend(t, h, t1, shared("a", t1, sa), shared("b", t1, sb))
	st := mustAppend(t, h, t2, shared("a", t2, sb), scrape("b", t2, "up", 1.0))
	if st.StaleMarkers != 0 { // a still exposes it
		t.Errorf("StaleMarkers when b stopped exposing what a still exposes = %d, want 0", st.StaleMarkers)
	}
	if got := query(t, h, "shared", t2); len(got) != 1 {
		t.Errorf("shared, exposed by a, after b stopped exposing it = %v, want its value", got)
	}
	st = mustAppend(t, h, t3, scrape("a", t3, "up", 1.0), scrape("b", t3, "up", 1.0))
	if st.StaleMarkers != 1 {
		t.Errorf("StaleMarkers when a, its owner, stopped exposing it too = %d, want 1", st.StaleMarkers)
	}
	if got := query(t, h, "shared", t3); len(got) != 0 {
		t.Errorf("shared after neither target exposes it = %v, want nothing (stale)", got)
	}
}

// A series a scrape repeats counts once toward what the scrape exposed: a series that
// vanished in the same scrape is still marked stale.
func TestRepeatedSeriesDoesNotHideAVanishedOne(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "y", 1.0))
	t1 := t0.Add(time.Second)
	if st := mustAppend(t, h, t1, scrape("a", t1, "x", 2.0, "x", 3.0)); st.StaleMarkers != 1 {
		t.Errorf("StaleMarkers = %d, want 1 (y vanished)", st.StaleMarkers)
	}
	if got := query(t, h, "y", t1); len(got) != 0 {
		t.Errorf("y after it vanished = %v, want nothing", got)
	}
}
