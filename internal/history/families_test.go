package history

import (
	"testing"
)

// TestReadsFunctionFamilies: each function over a window the issue names is in its family.
// Those that add up over time (a shorter span answers a smaller number) Sum; those that
// estimate a rate or a per-sample figure (right over a shorter span) do not.
func TestReadsFunctionFamilies(t *testing.T) {
	for _, tc := range []struct {
		expr string
		sums bool
	}{
		{`increase(x[10m])`, true},
		{`delta(x[10m])`, true},
		{`sum_over_time(x[10m])`, true},
		{`count_over_time(x[10m])`, true},
		{`changes(x[10m])`, true},
		{`resets(x[10m])`, true},
		{`absent_over_time(x[10m])`, true},
		{`rate(x[10m])`, false},
		{`irate(x[10m])`, false},
		{`idelta(x[10m])`, false},
		{`deriv(x[10m])`, false},
		{`predict_linear(x[10m], 60)`, false},
		{`avg_over_time(x[10m])`, false},
		{`min_over_time(x[10m])`, false},
		{`max_over_time(x[10m])`, false},
		{`quantile_over_time(0.9, x[10m])`, false},
		{`stddev_over_time(x[10m])`, false},
		{`stdvar_over_time(x[10m])`, false},
		{`last_over_time(x[10m])`, false},
		{`present_over_time(x[10m])`, false},
	} {
		reads, err := Reads(tc.expr)
		if err != nil {
			t.Errorf("Reads(%s): %v", tc.expr, err)
			continue
		}
		if len(reads) != 1 || reads[0].Sums != tc.sums {
			t.Errorf("Reads(%s) = %+v, want one Read with Sums %t", tc.expr, reads, tc.sums)
		}
	}
}
