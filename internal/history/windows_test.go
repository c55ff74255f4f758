package history

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestReads(t *testing.T) {
	m := time.Minute
	at100 := time.Unix(100, 0).UTC()
	for _, tc := range []struct {
		expr string
		want []Read
	}{
		{`x`, []Read{{Metric: "x"}}},
		{`x offset 5m`, []Read{{Metric: "x", Reach: 5 * m, Offset: 5 * m, Sums: true}}},
		{`{__name__=~"x.*"}`, []Read{{}}},
		{`increase(x[10m])`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true}}},
		{`sum(increase(x{a="b"}[10m]))`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true}}},
		{`rate(x[5m] offset 5m)`, []Read{{Metric: "x", Func: "rate", Range: 5 * m, Reach: 10 * m, Offset: 5 * m, Pairs: true}}},
		{`x[5m]`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`(x[5m])`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`changes(x[1m]) / resets(y[2m])`, []Read{
			{Metric: "x", Func: "changes", Range: m, Reach: m, Sums: true},
			{Metric: "y", Func: "resets", Range: 2 * m, Reach: 2 * m, Sums: true},
		}},
		{`max_over_time(x[10m:1m])`, []Read{{Metric: "x", Func: "max_over_time", Range: 10 * m, Reach: 10 * m}}},
		{`sum_over_time(rate(x[1m])[10m:1m] offset 2m)`, []Read{
			{Metric: "x", Func: "sum_over_time", Range: 10 * m, Reach: 12 * m, Offset: 2 * m, Sums: true},
			{Metric: "x", Func: "rate", Range: m, Reach: 13 * m, Offset: 2 * m, Step: m, StepOffset: 2 * m, Pairs: true},
		}},
		{`max_over_time((increase(x[1m]))[5m:])`, []Read{
			{Metric: "x", Func: "max_over_time", Range: 5 * m, Reach: 5 * m},
			{Metric: "x", Func: "increase", Range: m, Reach: 6 * m, Step: m, Sums: true}, // the default step
		}},
		{`x[5m:1m]`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`increase(x[10m] @ 100)`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true, Pinned: true, At: at100}}},
		{`increase(x[10m] @ end() offset 1m)`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 11 * m, Offset: m, Sums: true, Pinned: true, StartOrEnd: parser.END}}},
		{`x @ 100`, []Read{{Metric: "x", Sums: true, Pinned: true, At: at100}}},
		{`x @ start()`, []Read{{Metric: "x", Sums: true, Pinned: true, StartOrEnd: parser.START}}},
		// A subquery's @ pins the windows inside it, with their offsets.
		{`max_over_time(rate(x[5m] offset 1m)[10m:1m] @ 100)`, []Read{
			{Metric: "x", Func: "max_over_time", Range: 10 * m, Reach: 11 * m, Offset: m, Pinned: true, At: at100},
			{Metric: "x", Func: "rate", Range: 5 * m, Reach: 16 * m, Offset: m, Step: m, Pinned: true, At: at100, Pairs: true},
		}},
		// The windows outside the innermost @ read the same samples at every step.
		{`sum_over_time(increase(x[1m] @ 100)[10m:1m] offset 5m)`, []Read{
			{Metric: "x", Func: "increase", Range: m, Reach: m, Sums: true, Pinned: true, At: at100},
		}},
		{`sum_over_time((x @ 100)[10m:1m])`, []Read{{Metric: "x", Sums: true, Pinned: true, At: at100}}},
		{`sum_over_time(x[1m] @ end())[10m:1m] @ 100`, []Read{
			{Metric: "x", Func: "sum_over_time", Range: m, Reach: m, Sums: true, Pinned: true, StartOrEnd: parser.END},
		}},
		{`quantile_over_time(0.9, x[5m])`, []Read{{Metric: "x", Func: "quantile_over_time", Range: 5 * m, Reach: 5 * m}}},
		{`absent_over_time(x[5m])`, []Read{{Metric: "x", Func: "absent_over_time", Range: 5 * m, Reach: 5 * m, Sums: true}}},
		// The window's first sample: over a shorter span, a later one, not an estimate of it.
		{`first_over_time(x[5m])`, []Read{{Metric: "x", Func: "first_over_time", Range: 5 * m, Reach: 5 * m, Sums: true}}},
		{`last_over_time(x[5m])`, []Read{{Metric: "x", Func: "last_over_time", Range: 5 * m, Reach: 5 * m}}},
		// Duration expressions: the engine evaluates them before the query runs.
		{`increase(x[5m*2])`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true}}},
		{`x offset (1h/2)`, []Read{{Metric: "x", Reach: 30 * m, Offset: 30 * m, Sums: true}}},
		{`x offset -(1m*2)`, []Read{{Metric: "x", Reach: -2 * m, Offset: -2 * m}}},
		{`x offset (7m % 5m)`, []Read{{Metric: "x", Reach: 2 * m, Offset: 2 * m, Sums: true}}},
		{`sum_over_time(rate(x[1m+30s])[(10m):1m] offset max_of(1m, 2m))`, []Read{
			{Metric: "x", Func: "sum_over_time", Range: 10 * m, Reach: 12 * m, Offset: 2 * m, Sums: true},
			{Metric: "x", Func: "rate", Range: 90 * time.Second, Reach: 13*m + 30*time.Second, Offset: 2 * m, Step: m, StepOffset: 2 * m, Pairs: true},
		}},
		// Nested subqueries: the windows inside the inner one step on two grids.
		{`max_over_time(max_over_time(rate(x[1m])[2m:30s])[5m:1m])`, []Read{
			{Metric: "x", Func: "max_over_time", Range: 5 * m, Reach: 5 * m},
			{Metric: "x", Func: "max_over_time", Range: 2 * m, Reach: 7 * m, Step: m},
			{Metric: "x", Func: "rate", Range: m, Reach: 8 * m, Pairs: true},
		}},
		{`vector(1)`, nil},
	} {
		got, err := Reads(tc.expr)
		if err != nil {
			t.Errorf("Reads(%s): %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Reads(%s):\n got %+v\nwant %+v", tc.expr, got, tc.want)
		}
	}
}

func TestReadsParseError(t *testing.T) {
	if _, err := Reads(`rate(x[5m]`); err == nil {
		t.Error("Reads of an unclosed call: got no error, want the parser's")
	}
}

// The engine answers a duration expression as the duration it comes to: what Reads
// counts is what the query reads.
func TestDurationExpressionsAnswerAsTheirDuration(t *testing.T) {
	h := newHistory(t, Options{})
	for i := range 20 {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("a", at, "x", float64(i*i)))
	}
	at := t0.Add(19 * 15 * time.Second)
	for expr, same := range map[string]string{
		`increase(x[1m*2])`:                      `increase(x[2m])`,
		`x offset (30s*2)`:                       `x offset 1m`,
		`max_over_time(x[1m:15s] offset (1m/2))`: `max_over_time(x[1m:15s] offset 30s)`,
	} {
		got, want := query(t, h, expr, at), query(t, h, same, at)
		if len(want) == 0 || !maps.Equal(got, want) {
			t.Errorf("%s = %v, want %s's %v", expr, got, same, want)
		}
	}
}

// Each window lists the subqueries it is evaluated in, outermost first, from the
// innermost @ on, with the default step where a subquery gives none.
func TestWindowsSubqueries(t *testing.T) {
	m := time.Minute
	for expr, want := range map[string][][]Subquery{
		`rate(x[1m])`: {nil},
		`max_over_time(max_over_time(rate(x[1m] offset 10s)[2m:30s] offset 1m)[5m:] offset 2m)`: {
			nil,
			{{Range: 5 * m, Step: DefaultSubqueryStep, Offset: 2 * m}},
			{{Range: 5 * m, Step: DefaultSubqueryStep, Offset: 2 * m}, {Range: 2 * m, Step: 30 * time.Second, Offset: m}},
		},
		`max_over_time(max_over_time(rate(x[1m])[2m:30s] @ 100)[5m:1m])`: {
			nil,
			{{Range: 2 * m, Step: 30 * time.Second}},
		},
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		ws := Windows(e)
		if len(ws) != len(want) {
			t.Errorf("%s: %d windows, want %d", expr, len(ws), len(want))
			continue
		}
		for i, w := range ws {
			if !slices.Equal(w.Subqueries, want[i]) {
				t.Errorf("%s: window %d (%s): subqueries %+v, want %+v", expr, i, w.Text, w.Subqueries, want[i])
			}
		}
	}
}

// A window is a subquery's range, or a range selector's: what the function over a
// subquery reads are the points of its steps, not samples of the selector.
func TestWindowsSubqueryRange(t *testing.T) {
	e, err := Parse(`max_over_time(rate(x[1m])[5m:1m])`)
	if err != nil {
		t.Fatal(err)
	}
	ws := Windows(e)
	if len(ws) != 2 || !ws[0].Subquery || ws[1].Subquery {
		t.Fatalf("Windows: %+v; want the subquery's range, then rate(x[1m]), not a subquery's", ws)
	}
}

// Steps are the times the engine evaluates a window at: in nested subqueries, the inner
// steps the outer steps' windows read, not every one in the span they cover.
func TestWindowSteps(t *testing.T) {
	at := time.Unix(600, 0)
	s := int64(1000)
	for expr, want := range map[string][]StepRun{
		`rate(x[1m])`: {{600 * s, 600 * s, 0}},
		// (480, 600] by 30 s.
		`max_over_time(rate(x[1m])[2m:30s])`: {{510 * s, 600 * s, 30 * s}},
		// (540, 600] by 1m: the one step at 600.
		`max_over_time(rate(x[1m])[1m:1m])`: {{600 * s, 600 * s, 60 * s}},
		// Outer steps 480, 540, 600; each reads (t-20 s, t] by 10 s, the rest unread.
		`max_over_time(max_over_time(rate(x[1m])[20s:10s])[3m:1m])`: {
			{470 * s, 480 * s, 10 * s}, {530 * s, 540 * s, 10 * s}, {590 * s, 600 * s, 10 * s},
		},
		// Outer steps 540, 600 (offset 30 s: 510, 570); each reads (t-1m, t] by 15 s: one run.
		`max_over_time(max_over_time(rate(x[1m])[1m:15s] offset 30s)[2m:1m])`: {{465 * s, 570 * s, 15 * s}},
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		ws := Windows(e)
		if got, ok := ws[len(ws)-1].Steps(at); !ok || !slices.Equal(got, want) {
			t.Errorf("%s: Steps = %v, %v; want %v", expr, got, ok, want)
		}
	}
}

// A range query's steps start where the query starts, not at a multiple of its step: a
// window is evaluated at each of them (StepsFrom, PairFitsFrom), outside a subquery too.
func TestWindowStepsFromRangeQuery(t *testing.T) {
	s := int64(1000)
	// Steps at 10.5 s, 310.5 s and 610.5 s: rate(x[1m])'s windows end there.
	query := []StepRun{{10500, 610500, 300 * s}}
	e, err := Parse(`rate(x[1m])`)
	if err != nil {
		t.Fatal(err)
	}
	w := Windows(e)[0]
	fits, ok := w.PairFitsFrom(query)
	if !ok {
		t.Fatal("PairFitsFrom cannot tell")
	}
	for _, c := range []struct {
		a, b int64
		want bool
	}{
		{300 * s, 310 * s, true},     // in (250.5 s, 310.5 s]
		{300 * s, 311 * s, false},    // b after the step
		{100 * s, 110 * s, false},    // between steps' windows
		{551 * s, 610500, true},      // the last step's window
		{550 * s, 550500 + 1, false}, // a at the window's start bound, excluded... b inside
		{550501, 551 * s, true},      // both inside (550.5 s, 610.5 s]
	} {
		if got := fits(c.a, c.b); got != c.want {
			t.Errorf("fits(%d, %d) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	// In a subquery, the steps each query step reads: (t-1m, t] by 30 s for t at 10.5 s
	// and 310.5 s.
	e, err = Parse(`max_over_time(rate(x[1m])[1m:30s])`)
	if err != nil {
		t.Fatal(err)
	}
	ws := Windows(e)
	got, ok := ws[len(ws)-1].StepsFrom([]StepRun{{10500, 310500, 300 * s}})
	if want := []StepRun{{-30 * s, 0, 30 * s}, {270 * s, 300 * s, 30 * s}}; !ok || !slices.Equal(got, want) {
		t.Errorf("StepsFrom = %v, %v; want %v", got, ok, want)
	}
}

// A range query at today's times: each step's subquery (offset too) reads its own window.
func TestWindowStepsFromAnOffsetSubquery(t *testing.T) {
	s := int64(1000)
	t0 := int64(1_800_000_000) * s // a multiple of 30 s
	e, err := Parse(`max_over_time(rate(x[1m])[1m:30s] offset 1m)`)
	if err != nil {
		t.Fatal(err)
	}
	ws := Windows(e)
	// Query steps at t0+10.5 s and t0+310.5 s: the subquery's (t-2m, t-1m], by 30 s.
	got, ok := ws[len(ws)-1].StepsFrom([]StepRun{{t0 + 10500, t0 + 310500, 300 * s}})
	if want := []StepRun{{t0 - 90*s, t0 - 60*s, 30 * s}, {t0 + 210*s, t0 + 240*s, 30 * s}}; !ok || !slices.Equal(got, want) {
		t.Errorf("StepsFrom = %v, %v; want %v", got, ok, want)
	}
}

// A pair of samples fits a window when both lie in (s-offset-Range, s-offset]: one at the
// window's start bound is outside it, as PromQL reads it.
func TestWindowPairFits(t *testing.T) {
	s := int64(1000)
	at := time.Unix(600, 0)
	for expr, cases := range map[string][]struct {
		a, b int64
		want bool
	}{
		`rate(x[1m])`: {
			{540*s + 1, 600 * s, true},
			{540 * s, 600 * s, false},     // a at the start bound
			{540*s + 1, 600*s + 1, false}, // b after the step
		},
		`rate(x[1m] offset 1m)`: { // (480 s, 540 s]
			{480*s + 1, 540 * s, true},
			{540*s + 1, 600 * s, false},
		},
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		fits, ok := Windows(e)[0].PairFits(at)
		if !ok {
			t.Fatalf("%s: PairFits cannot tell", expr)
		}
		for _, c := range cases {
			if got := fits(c.a, c.b); got != c.want {
				t.Errorf("%s at 600s: fits(%d, %d) = %v, want %v", expr, c.a, c.b, got, c.want)
			}
		}
	}
}

// Steps gives up past 16384 runs rather than compute without bound (a window it cannot
// tell is partial): a range query's steps whose subquery windows lie apart are a run each;
// windows that overlap are one span, however many steps.
func TestWindowStepsBounded(t *testing.T) {
	s := int64(1000)
	t0 := int64(1_800_000_000) * s
	window := func(expr string) Window {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		ws := Windows(e)
		return ws[len(ws)-1]
	}
	apart := window(`max_over_time(rate(x[1m])[1m:30s])`) // a run of two steps per 5m query step
	steps := func(n int64) StepRun { return StepRun{t0, t0 + (n-1)*300*s, 300 * s} }
	if got, ok := apart.StepsFrom([]StepRun{steps(16384)}); !ok || len(got) != 16384 {
		t.Errorf("16384 query steps: %d runs, %v; want 16384, true", len(got), ok)
	}
	if got, ok := apart.StepsFrom([]StepRun{steps(16385)}); ok {
		t.Errorf("16385 query steps: %d runs, true; want false", len(got))
	}
	// Two runs of 10000 steps each (a nested subquery's outer steps).
	second := StepRun{t0 + 10000*300*s, t0 + 19999*300*s, 300 * s}
	if got, ok := apart.StepsFrom([]StepRun{steps(10000), second}); ok {
		t.Errorf("two runs of 10000 query steps: %d runs, true; want false", len(got))
	}
	// Windows of 5m at steps of 5m touch: one run of every 30 s.
	touching := window(`max_over_time(rate(x[1m])[5m:30s])`)
	if got, ok := touching.StepsFrom([]StepRun{steps(20000)}); !ok || !slices.Equal(got, []StepRun{{t0 - 270*s, t0 + 19999*300*s, 30 * s}}) {
		t.Errorf("20000 query steps whose windows touch: %v, %v; want one run", got, ok)
	}
}

// Where the windows of a range query's successive steps meet, their subquery steps are one
// run, in order, each time once.
func TestWindowStepsFromMeetingWindowsAreOneRun(t *testing.T) {
	s := int64(1000)
	e, err := Parse(`max_over_time(rate(x[1m])[90s:1m])`)
	if err != nil {
		t.Fatal(err)
	}
	ws := Windows(e)
	w := ws[len(ws)-1]
	// Query steps at 0, 120 s, 240 s: each reads the minutes in (t-90s, t]: -60 s and 0,
	// 60 s and 120 s, 180 s and 240 s.
	if got, ok := w.StepsFrom([]StepRun{{0, 240 * s, 120 * s}}); !ok || !slices.Equal(got, []StepRun{{-60 * s, 240 * s, 60 * s}}) {
		t.Errorf("StepsFrom of 3 query steps = %v, %v; want one run from -60s to 240s by 1m", got, ok)
	}
}

// A Window made by hand with a subquery of no step: Steps cannot tell (no division by
// zero).
func TestWindowStepsOfAZeroStep(t *testing.T) {
	w := Window{Read: Read{Range: time.Minute}, Subqueries: []Subquery{{Range: 5 * time.Minute}}}
	if got, ok := w.Steps(time.Unix(600, 0)); ok {
		t.Errorf("Steps with a zero subquery step = %v, true; want false", got)
	}
}

// A range query's step() and range() are its step and span in the windows' durations, as
// the engine evaluates them; an instant query's are zero. StepDependent tells the
// expressions whose windows depend on them.
func TestWindowsOverStepAndRange(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		`rate(x[step()*4])`:                           time.Minute,
		`rate(x[range()/20])`:                         30 * time.Second,
		`rate(x[1m] offset step())`:                   time.Minute + 15*time.Second,
		`max_over_time(rate(x[1m])[step()*8:step()])`: 2 * time.Minute, // the subquery; its rate 3m
		`rate(x[1m])`:                                 time.Minute,
		`rate(x[30s*2])`:                              time.Minute,
	} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		ws := WindowsOver(e, 15*time.Second, 10*time.Minute)
		if got := ws[0].Reach; got != want {
			t.Errorf("%s at step 15s over 10m: Reach %s, want %s", expr, got, want)
		}
		if dep := StepDependent(e); dep != (expr != `rate(x[1m])` && expr != `rate(x[30s*2])`) {
			t.Errorf("%s: StepDependent %v", expr, dep)
		}
	}
	e, _ := Parse(`rate(x[step()*4])`)
	if ws := Windows(e); ws[0].Range != 0 {
		t.Errorf("instant: Range %s, want 0 (step() of an instant query)", ws[0].Range)
	}
}
