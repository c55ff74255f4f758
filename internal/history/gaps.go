package history

import (
	"slices"
	"sort"
	"time"
)

// MinGap is the shortest span between two appends that is a gap (GapAt), whatever the
// usual spacing: a scrape or two missed at a 15 s cadence is not one.
const MinGap = time.Minute

// GapAt reports whether a window starting at from starts in a gap of appends (the times,
// oldest first, of the appends that stored a scrape of some pod: a stretch with none is
// an outage of the Service, every pod down or its discovery failing): two successive
// appends further apart than three times their usual spacing (the lower median of the
// spacings) and than MinGap, the later one after from and the earlier one at or before
// it. Such a window sums, or estimates from, only what came after the gap. It returns the
// append that ended the gap and the gap's length.
func GapAt(appends []time.Time, from time.Time) (after time.Time, gap time.Duration, ok bool) {
	n := len(appends)
	i := sort.Search(n, func(j int) bool { return appends[j].After(from) })
	if i == 0 || i == n {
		return time.Time{}, 0, false
	}
	gap = appends[i].Sub(appends[i-1])
	if gap <= MinGap || gap <= 3*usualSpacing(appends) {
		return time.Time{}, 0, false
	}
	return appends[i], gap, true
}

// GapInSteps is GapAt for the windows of w's subquery steps when the expression is
// evaluated at at (see Window.StartsIn) that start at or after start (the oldest sample
// held): whether one of them starts in a gap of appends. It returns the append that ended
// the latest such gap and its length.
func (w Window) GapInSteps(appends []time.Time, at, start time.Time) (after time.Time, gap time.Duration, ok bool) {
	n := len(appends)
	if n < 3 {
		return time.Time{}, 0, false
	}
	usual := usualSpacing(appends)
	for i := n - 1; i > 0; i-- {
		a, b := appends[i-1], appends[i]
		if !b.After(start) {
			break
		}
		if g := b.Sub(a); g > MinGap && g > 3*usual && w.StartsIn(at, max(a.UnixMilli(), start.UnixMilli()), b.UnixMilli()) {
			return b, g, true
		}
	}
	return time.Time{}, 0, false
}

// usualSpacing returns the lower median of the spacings of appends (at least two).
func usualSpacing(appends []time.Time) time.Duration {
	spacings := make([]time.Duration, len(appends)-1)
	for j := 1; j < len(appends); j++ {
		spacings[j-1] = appends[j].Sub(appends[j-1])
	}
	slices.Sort(spacings)
	return spacings[(len(spacings)-1)/2]
}

// ReachesBefore reports whether a window starting at from and ending at last reaches
// before since (the oldest scrape it may read: the history's, or the one that began to
// store its metric) by more than Prometheus extrapolates over: its answer is then over a
// shorter span than its range. A window whose answer is extrapolated to its start
// (extrapolates: Window.Extrapolates, a rate, an increase or a delta over a range
// selector) starting before since by less than 1.1 times the average spacing of the
// scrapes it holds reads as whole: Prometheus extrapolates it to the window's start over
// such a gap (extrapolatedRate), so the increase is not a smaller number. Any other
// window starting before since at all reaches before it: a full history may hold a
// sample between from and since (the scrape before since, a spacing or a late scrape's
// less earlier), which a sum or count over time counts, and an instant selector or a
// subquery's step before since reads through the lookback delta. The spacing is the
// average of appends (the times, oldest first, of the appends that stored a scrape) at
// or after since and at or before last, at most limit when limit is positive (a scrape
// loop's interval). With fewer than two such appends there is nothing to extrapolate
// from: any window starting before since reaches before it. Both the pod source's
// coverage check and serve's window check decide with it.
func ReachesBefore(appends []time.Time, since, from, last time.Time, limit time.Duration, extrapolates bool) bool {
	if !from.Before(since) {
		return false
	}
	if !extrapolates {
		return true
	}
	first := sort.Search(len(appends), func(j int) bool { return !appends[j].Before(since) })
	end := sort.Search(len(appends), func(j int) bool { return appends[j].After(last) })
	if end-first < 2 {
		return true
	}
	avg := appends[end-1].Sub(appends[first]) / time.Duration(end-first-1)
	short := since.Sub(from)
	// Prometheus extrapolates when the gap to the window's start is under 1.1 times the
	// average spacing (it does not at exactly that).
	return short*10 >= avg*11 || limit > 0 && short > limit
}
