package pod

import (
	"errors"
	"testing"
	"time"
)

// TestKEDAQueriesOverTheFirstTenMinutes walks the coverage check over the first 10
// minutes of a history scraped every 15 s, for KEDA-style queries: ErrNoHistory only
// before the first scrape; an increase is ErrPartialWindow exactly while it reaches
// before the first scrape by 1.1 spacings or more (history.ReachesBefore: Prometheus
// extrapolates it over less), an offset's until it is held; an estimate a warning
// meanwhile (a max_over_time, which does not extrapolate, until its window is held),
// never an error once two scrapes are held; a rate over the first scrape alone an error.
func TestKEDAQueriesOverTheFirstTenMinutes(t *testing.T) {
	const step = 15 * time.Second
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	queries := []string{`sum(rate(x[2m]))`, `sum(increase(x[10m]))`, `max_over_time(x[5m])`, `absent(x)`, `x offset 5m`}
	cov := coverage{oldest: t0}
	for _, q := range queries {
		if err, _, _ := cov.check("q", q, t0.Add(-time.Millisecond)); !errors.Is(err, ErrNoHistory) {
			t.Errorf("%s before the first scrape: got %v, want ErrNoHistory", q, err)
		}
	}
	// whole: the window of reach is whole held after the first scrape.
	whole := func(reach, held time.Duration) bool { return (reach-held)*10 < step*11 }
	var since storedSince
	for i := 0; i <= 44; i++ {
		held := time.Duration(i) * step
		at := t0.Add(held)
		since.record(stored, at, time.Hour)
		cov.since = since.clone()
		for _, q := range queries {
			err, warnings, _ := cov.check("q", q, at)
			var wantErr, wantWarning bool
			switch q {
			case `sum(rate(x[2m]))`:
				wantErr, wantWarning = i == 0, !whole(2*time.Minute, held)
			case `sum(increase(x[10m]))`:
				wantErr = !whole(10*time.Minute, held)
			case `max_over_time(x[5m])`:
				wantWarning = held < 5*time.Minute
			case `x offset 5m`:
				wantErr = held < 5*time.Minute // no sample that far back: nothing to extrapolate
			}
			if errors.Is(err, ErrPartialWindow) != wantErr || err != nil && !wantErr {
				t.Errorf("%s, %s held: got Error %v, want ErrPartialWindow %v", q, held, err, wantErr)
			}
			if !wantErr && (len(warnings) > 0) != wantWarning {
				t.Errorf("%s, %s held: got warnings %q, want a partial window's %v", q, held, warnings, wantWarning)
			}
		}
	}
}
