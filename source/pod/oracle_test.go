package pod

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
)

// The partial-window rule as an oracle: for an expression evaluated at T over a history
// whose oldest sample is at H, a verdict of "covered" (no Error, no warning from the
// coverage check) promises the answer a full history would give. Over the instant
// queries of Prometheus' own promqltest files (with their data) and the llm-d
// autoscaler's queries (over scrapes every 15 s), for T the eval time and H each of the
// history starts that matter (the sample times just after every window's start and end,
// and a seeded choice of the others), the engine evaluates the expression over the data
// up to T and over the same data from H on: where the answers differ (values, or series
// present), the verdict must not be "covered". A verdict of partial where they agree is
// allowed (conservative).
func TestPartialWindowOracle(t *testing.T) {
	var o oracle
	o.rng = rand.New(rand.NewPCG(14, 14))
	o.promqltestFiles(t)
	o.llmdQueries(t)
	t.Logf("oracle: %d expressions, %d (expression, T) evaluations, %d (expression, T, H) cases compared: %d answers differ (%d of them flagged partial or warned, %d extrapolated over less than 1.1 spacings), %d covered and alike, %d partial and alike; skipped: %d unparsed, %d failing over full data",
		len(o.exprs), o.evals, o.cases, o.differ, o.flagged, o.extrapolated, o.coveredSame, o.partialSame, o.unparsed, o.failing)
	for _, m := range o.misses {
		t.Errorf("covered, yet the answer differs from a full history's: %s", m)
	}
	// Not vacuous: enough cases compared, and enough of them where the truncation
	// changed the answer (each of which the verdict had to flag).
	if o.cases < 3000 || o.differ < 500 || o.coveredSame < 2000 || len(o.exprs) < 700 {
		t.Errorf("the oracle compared too little: %d cases over %d expressions, %d differing, %d covered and alike",
			o.cases, len(o.exprs), o.differ, o.coveredSame)
	}
}

// oracleSample is one sample of a data set.
type oracleSample struct {
	t int64
	v float64
}

// oracleSeries is one series of a data set, its samples in time order.
type oracleSeries struct {
	lset    labels.Labels
	samples []oracleSample
}

type oracle struct {
	rng    *rand.Rand
	exprs  map[string]struct{}
	misses []string
	// counts
	evals, cases, differ, flagged, extrapolated, coveredSame, partialSame, unparsed, failing int
}

// maxHPerEval bounds the history starts tried per (expression, T) beyond the
// window-boundary ones.
const maxHPerEval = 4

// maxSamplesPerSet bounds the data sets evaluated: larger ones are skipped (time).
const maxSamplesPerSet = 20000

var (
	oracleLoad = regexp.MustCompile(`^load(?:_with_nhcb)?\s+(.+?)$`)
	oracleEval = regexp.MustCompile(`^eval(?:_(fail|warn|ordered|info))?\s+instant\s+at\s+(\S+)\s+(.+)$`)
)

// promqltestFiles runs the oracle over every instant eval of Prometheus' promqltest
// files, with the data its file loaded before it.
func (o *oracle) promqltestFiles(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/prometheus/prometheus: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "promql", "promqltest", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promqltest files in %s: %v", dir, err)
	}
	p := parser.NewParser(promqltest.TestParserOpts)
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var data map[string]*oracleSeries
		histograms := map[string]bool{} // series with native histogram samples: left out
		lines := strings.Split(string(content), "\n")
		var hists *oracleHistories
		for i := 0; i < len(lines); i++ {
			line := strings.TrimSpace(lines[i])
			switch {
			case line == "clear":
				data, histograms = nil, map[string]bool{}
				hists.close()
				hists = nil
			case oracleLoad.MatchString(line):
				step, err := model.ParseDuration(oracleLoad.FindStringSubmatch(line)[1])
				if err != nil {
					t.Fatalf("%s:%d: %v", filepath.Base(f), i+1, err)
				}
				if data == nil {
					data = map[string]*oracleSeries{}
				}
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
					i++
					lset, vals, err := p.ParseSeriesDesc(strings.TrimSpace(lines[i]))
					if err != nil {
						continue
					}
					key := lset.String()
					s := data[key]
					if s == nil {
						s = &oracleSeries{lset: lset}
						data[key] = s
					}
					for j, v := range vals {
						if v.Histogram != nil {
							histograms[key] = true
						}
						if v.Omitted || v.Histogram != nil {
							continue
						}
						s.samples = append(s.samples, oracleSample{t: int64(j) * time.Duration(step).Milliseconds(), v: v.Value})
					}
				}
				hists.close()
				hists = nil
			default:
				m := oracleEval.FindStringSubmatch(line)
				if m == nil || m[1] == "fail" || data == nil {
					continue
				}
				at, err := model.ParseDuration(m[2])
				if err != nil {
					continue
				}
				if hists == nil {
					var set []oracleSeries
					for k, s := range data {
						if !histograms[k] {
							set = append(set, *s)
						}
					}
					hists = newOracleHistories(t, set)
				}
				if hists.total > maxSamplesPerSet {
					continue
				}
				o.check(t, hists, fmt.Sprintf("%s:%d", filepath.Base(f), i+1), m[3], time.UnixMilli(time.Duration(at).Milliseconds()))
			}
		}
		hists.close()
	}
}

// llmdQueries runs the oracle over the llm-d autoscaler's queries, over counters and
// gauges of two pods scraped every 15 s (a few hundred ms late, seeded) for 16 minutes,
// each value a seeded step up from the last.
func (o *oracle) llmdQueries(t *testing.T) {
	var exprs []string
	for _, retention := range []string{"5m", "10m"} {
		params := map[string]string{source.ParamNamespace: "ns", source.ParamModelID: "m", llmd.ParamRetentionPeriod: retention}
		for _, q := range llmd.Queries() {
			e, err := source.FillTemplate(q, params)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(exprs, e) {
				exprs = append(exprs, e)
			}
		}
	}
	// A series of each selector's equality matchers, per pod.
	series := map[string]labels.Labels{}
	for _, e := range exprs {
		parsed, err := history.Parse(e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		parser.Inspect(parsed, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			for _, pod := range []string{"p0", "p1"} {
				b := labels.NewBuilder(labels.FromStrings("pod", pod, "instance", pod+":8000", "llm_d_ai_variant", "v"))
				for _, m := range vs.LabelMatchers {
					if m.Type == labels.MatchEqual {
						b.Set(m.Name, m.Value)
					}
				}
				for _, le := range []string{"", "0.5", "+Inf"} { // histogram buckets, and the series without le
					if le != "" {
						if !strings.HasSuffix(vs.Name, "_bucket") {
							continue
						}
						b.Set("le", le)
					}
					l := b.Labels()
					series[l.String()] = l
				}
			}
			return nil
		})
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rng := rand.New(rand.NewPCG(7, 7))
	const scrapes, spacing = 64, 15 * time.Second
	times := make([]int64, scrapes)
	base := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC).UnixMilli()
	for i := range times {
		times[i] = base + int64(i)*spacing.Milliseconds() + rng.Int64N(300)
	}
	set := make([]oracleSeries, 0, len(keys))
	for _, k := range keys {
		s := oracleSeries{lset: series[k]}
		v := 0.0
		for _, ts := range times {
			v += float64(rng.IntN(20))
			s.samples = append(s.samples, oracleSample{t: ts, v: v})
		}
		set = append(set, s)
	}
	hists := newOracleHistories(t, set)
	defer hists.close()
	for _, at := range []int{20, 41, 63} {
		for _, e := range exprs {
			o.check(t, hists, "llmd", e, time.UnixMilli(times[at]))
		}
	}
}

// check compares the answers of expr at at over the data to at and over the data from
// each of the history starts tried, and the verdicts at those.
func (o *oracle) check(t *testing.T, hs *oracleHistories, where, expr string, at time.Time) {
	if o.exprs == nil {
		o.exprs = map[string]struct{}{}
	}
	parsed, err := history.Parse(expr)
	if err != nil {
		o.unparsed++
		return
	}
	starts := hs.timesTo(at.UnixMilli())
	if len(starts) < 2 {
		return
	}
	full := hs.get(t, starts[0], at.UnixMilli())
	want, err := full.Query(context.Background(), expr, at)
	if err != nil {
		o.failing++
		return
	}
	o.exprs[expr] = struct{}{}
	o.evals++
	// The history starts: the sample times just after each window's start and end
	// (where a truncation begins to change a window), then a seeded choice of others.
	tried := map[int64]bool{}
	var hs2 []int64
	add := func(h int64) {
		if h > starts[0] && h <= at.UnixMilli() && !tried[h] {
			tried[h] = true
			hs2 = append(hs2, h)
		}
	}
	for _, w := range history.Windows(parsed) {
		end := at
		if pinned, ok := w.PinnedAt(); ok {
			end = pinned
		}
		for _, b := range []time.Time{end.Add(-w.Reach), end.Add(-w.Offset)} {
			i := sort.Search(len(starts), func(j int) bool { return starts[j] > b.UnixMilli() })
			for k := i; k < i+2 && k < len(starts); k++ {
				add(starts[k])
			}
		}
	}
	for range maxHPerEval {
		add(starts[1+o.rng.IntN(len(starts)-1)])
	}
	for _, h := range hs2 {
		trunc := hs.get(t, h, at.UnixMilli())
		got, err := trunc.Query(context.Background(), expr, at)
		if err != nil {
			continue // an Error: not a silent answer
		}
		o.cases++
		oldest, _ := trunc.Span()
		cov := coverage{oldest: oldest, since: storedSince{all: oldest, appends: hs.appendsFrom(h, at.UnixMilli())},
			pairs: trunc.PairWhere,
			answers: func(expr string, at time.Time) (bool, error) {
				res, err := trunc.Query(context.Background(), expr, at)
				return len(res.Points) > 0, err
			}}
		cerr, warnings, estimate := cov.check("q", expr, at)
		covered := cerr == nil && len(warnings) == 0 && estimate == nil
		same := sameAnswer(want, got)
		switch {
		case !same && covered && extrapolatedBefore(parsed, at, time.UnixMilli(h)):
			// Every window starting before H is a rate, an increase or a delta, which
			// Prometheus extrapolates to its start over less than 1.1 times the
			// spacing (history.ReachesBefore): the answer is what a Prometheus server
			// started at H gives, its extrapolation's error the difference.
			o.differ++
			o.extrapolated++
		case !same && covered:
			o.differ++
			o.misses = append(o.misses, fmt.Sprintf("%s: %s at %s, history from %s (%s held): full %s, truncated %s",
				where, expr, at.UTC().Format(time.RFC3339Nano), time.UnixMilli(h).UTC().Format(time.RFC3339Nano), at.Sub(time.UnixMilli(h)),
				pointsText(want), pointsText(got)))
		case !same:
			o.differ++
			o.flagged++
		case covered:
			o.coveredSame++
		default:
			o.partialSame++
		}
	}
}

// extrapolatedBefore reports whether every window of e evaluated at at that starts
// before h is one Prometheus extrapolates to its start (history.Window.Extrapolates).
func extrapolatedBefore(e parser.Expr, at, h time.Time) bool {
	for _, w := range history.Windows(e) {
		end := at
		if pinned, ok := w.PinnedAt(); ok {
			end = pinned
		}
		if end.Add(-w.Reach).Before(h) && !w.Extrapolates() {
			return false
		}
	}
	return true
}

// sameAnswer reports whether two results hold the same series with the same values
// (NaN equal to NaN; values equal to within a relative 1e-9: the same arithmetic in
// another order).
func sameAnswer(a, b history.Result) bool {
	if a.Kind != b.Kind || len(a.Points) != len(b.Points) {
		return false
	}
	m := make(map[string]history.Point, len(a.Points))
	for _, p := range a.Points {
		m[p.Metric.String()] = p
	}
	for _, p := range b.Points {
		q, ok := m[p.Metric.String()]
		if !ok || q.T != p.T {
			return false
		}
		if math.IsNaN(q.V) || math.IsNaN(p.V) {
			if math.IsNaN(q.V) != math.IsNaN(p.V) {
				return false
			}
			continue
		}
		if q.V != p.V && math.Abs(q.V-p.V) > 1e-9*math.Max(math.Abs(q.V), math.Abs(p.V)) {
			return false
		}
	}
	return true
}

func pointsText(r history.Result) string {
	var parts []string
	for _, p := range r.Points {
		parts = append(parts, fmt.Sprintf("%s %g", p.Metric, p.V))
	}
	sort.Strings(parts)
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("... (%d)", len(parts)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// oracleHistories are the histories of one data set, each holding its samples from one
// time to another, made as asked.
type oracleHistories struct {
	set   []oracleSeries
	times []int64 // the data's sample times, in order, without repeats
	total int
	made  map[[2]int64]*history.History
}

func newOracleHistories(t *testing.T, set []oracleSeries) *oracleHistories {
	hs := &oracleHistories{set: set, made: map[[2]int64]*history.History{}}
	seen := map[int64]bool{}
	for _, s := range set {
		hs.total += len(s.samples)
		for _, smp := range s.samples {
			if !seen[smp.t] {
				seen[smp.t] = true
				hs.times = append(hs.times, smp.t)
			}
		}
	}
	slices.Sort(hs.times)
	return hs
}

// timesTo returns the sample times at or before to.
func (hs *oracleHistories) timesTo(to int64) []int64 {
	i := sort.Search(len(hs.times), func(j int) bool { return hs.times[j] > to })
	return hs.times[:i]
}

// appendsFrom returns the sample times from from to to, as the appends of a history that
// stored the data from then on.
func (hs *oracleHistories) appendsFrom(from, to int64) []time.Time {
	var out []time.Time
	for _, ts := range hs.times {
		if ts >= from && ts <= to {
			out = append(out, time.UnixMilli(ts))
		}
	}
	return out
}

// get returns a history of the data's samples from from to to, appended a sample time at
// a time as the scrapes of one target: a series the data has no sample of at a sample
// time is marked stale there, as a Prometheus server scraping the target marks it (the
// full history is the server's; without staleness, an instant selector would read a
// series last exposed before the history's start, which a scrape history never holds
// and a server would have marked stale).
func (hs *oracleHistories) get(t *testing.T, from, to int64) *history.History {
	if h := hs.made[[2]int64{from, to}]; h != nil {
		return h
	}
	h, err := history.New(history.Options{Retention: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	byTime := map[int64][]history.Sample{}
	for _, s := range hs.set {
		for _, smp := range s.samples {
			if smp.t >= from && smp.t <= to {
				byTime[smp.t] = append(byTime[smp.t], history.Sample{Labels: s.lset, T: smp.t, V: smp.v})
			}
		}
	}
	for _, ts := range hs.times {
		if ts < from || ts > to {
			continue
		}
		at := time.UnixMilli(ts)
		// A sample refused (a series loaded twice at one time) is refused alike in
		// every history of the data.
		_, _ = h.Append(context.Background(), at, []history.Scrape{{Target: "t", Time: at, Samples: byTime[ts]}})
	}
	hs.made[[2]int64{from, to}] = h
	return h
}

func (hs *oracleHistories) close() {
	if hs == nil {
		return
	}
	for _, h := range hs.made {
		_ = h.Close()
	}
}
