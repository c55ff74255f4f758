package pod

import (
	"errors"
	"testing"
	"time"
)

// A query with several windows that add up and reach before the history names the
// widest in its PartialWindowError, whatever their order.
func TestPartialWindowNamesTheWidest(t *testing.T) {
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := start.Add(10 * time.Minute)
	cov := coverage{oldest: start, since: storedSince{all: start}}
	for _, expr := range []string{
		`increase(x[15m]) + increase(x[30m])`,
		`increase(x[30m]) + increase(x[15m])`,
		`increase(x[15m]) + increase(x[30m]) + increase(x[20m])`,
	} {
		err, _, _ := cov.check("q", expr, at)
		var pw *PartialWindowError
		if !errors.As(err, &pw) || pw.Window != 30*time.Minute || pw.Held != 10*time.Minute {
			t.Errorf("%s: got %v, want the 30m window named, 10m held", expr, err)
		}
	}
}
