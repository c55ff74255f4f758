package render

import (
	"math"
	"slices"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// Change is how one sample changed since the previous Snapshot.
type Change struct {
	// New reports a series the previous Snapshot did not have.
	New bool
	// Delta is the value minus the previous value; 0 when unchanged or New, NaN when
	// exactly one of the two values is NaN.
	Delta float64
}

// Changed reports whether the sample is new or its value moved.
func (c Change) Changed() bool { return c.New || c.Delta != 0 || math.IsNaN(c.Delta) }

// Changes is what changed between two Snapshots of one Service. Its slices are its own.
type Changes struct {
	// Since is the time between the two collections.
	Since time.Duration
	// Samples holds the change of each sample of the newer Snapshot, index for index.
	Samples []Change
	// New, Changed and Gone count series that appeared, moved, and disappeared.
	New, Changed, Gone int
	// PodsAdded names the pods that appeared in the scrape and were scraped; PodsGone
	// the pods that left it.
	PodsAdded, PodsGone []string
	// PodsUp names the pods whose scrape started succeeding; PodsDown the pods whose
	// scrape stopped succeeding, and those that appeared failing.
	PodsUp, PodsDown []string
	// First reports that there was no previous Snapshot: nothing changed, and no summary
	// is written.
	First bool
}

// Diff compares cur with prev, the Snapshot before it. A nil prev is the first refresh:
// every sample is unchanged (there is nothing to compare with), not new, and First is set.
func Diff(prev, cur *snapshot.Snapshot) *Changes {
	ch := &Changes{Samples: make([]Change, len(cur.Samples))}
	if prev == nil {
		ch.First = true
		return ch
	}
	ch.Since = cur.CollectedAt.Sub(prev.CollectedAt)
	before := make(map[string]float64, len(prev.Samples))
	for i := range prev.Samples {
		before[prev.Samples[i].Key()] = prev.Samples[i].Value
	}
	for i := range cur.Samples {
		k := cur.Samples[i].Key()
		old, ok := before[k]
		if !ok {
			ch.Samples[i].New = true
			ch.New++
			continue
		}
		delete(before, k)
		v := cur.Samples[i].Value
		switch {
		case old == v, math.IsNaN(old) && math.IsNaN(v):
		case math.IsNaN(old) || math.IsNaN(v):
			ch.Samples[i].Delta = math.NaN()
		default:
			ch.Samples[i].Delta = v - old
		}
		if ch.Samples[i].Changed() {
			ch.Changed++
		}
	}
	ch.Gone = len(before)

	was := make(map[string]bool, len(prev.Pods))
	for _, p := range prev.Pods {
		was[p.Pod] = p.Up
	}
	for _, p := range cur.Pods {
		up, ok := was[p.Pod]
		switch {
		case !ok && p.Up:
			ch.PodsAdded = append(ch.PodsAdded, p.Pod)
		case !ok, up && !p.Up: // a pod that appears failing is down, not added
			ch.PodsDown = append(ch.PodsDown, p.Pod)
		case !up && p.Up:
			ch.PodsUp = append(ch.PodsUp, p.Pod)
		}
		delete(was, p.Pod)
	}
	for _, p := range prev.Pods {
		if _, gone := was[p.Pod]; gone {
			ch.PodsGone = append(ch.PodsGone, p.Pod)
		}
	}
	slices.Sort(ch.PodsGone)
	return ch
}
