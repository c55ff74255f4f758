package render

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/podscrape/podscrape/internal/leftout"
)

// QueryView is one evaluation of a PromQL query, for podscrape query.
type QueryView struct {
	// Expr is the query as evaluated (params filled in).
	Expr string
	// Backend says where it ran: "pods of Service ns/name" or a Prometheus URL.
	Backend string
	// Service is the Service whose pods the query ran on, as namespace/name; "" for a
	// Prometheus server.
	Service string
	// PodsScraped is how many Ready pods behind Service the refresh scraped, up or not;
	// nil when unknown (a Prometheus server, a refresh that failed before scraping). Zero
	// is said as such: an empty answer there is no pods, not no load.
	PodsScraped *int
	// At is the evaluation time.
	At time.Time
	// History is how far back the backend's samples reach; zero when unknown.
	History time.Duration
	// Window is how far back the query reads (its longest range); zero for none.
	Window time.Duration
	// Series are the result's series.
	Series []QuerySeries
	// PodsDown name the pods whose scrape failed, with why.
	PodsDown []string
	// Partial are the windows of the query that reach before the history
	// (pod.ErrPartialWindow).
	Partial []PartialWindow
	// Warnings are the engine's warnings, and the source's notes (a window estimated
	// over the span held, the pods an answer leaves out).
	Warnings []string
	// Error is the query's error, "" when none.
	Error string
	// Unmatched are the query's selectors that match no series the pods expose now:
	// with a window not covered yet, Note says the query matched nothing rather than
	// that it waits for the window.
	Unmatched []string
}

// PartialWindow is one window of a query that reaches before the history.
type PartialWindow struct {
	// Text says which window reaches how far back, and how much the history holds.
	Text string
	// Offset says the window is an offset's: before the history there is no sample at
	// all, so what it reads is missing, where a sum over a window (increase) answers a
	// shorter span, a lower bound.
	Offset bool
}

// QuerySeries is one series of a query result.
type QuerySeries struct {
	Labels map[string]string
	Value  float64
	// Trend holds the series' previous values, oldest first, for a sparkline; empty
	// outside --watch.
	Trend []float64
}

// Note says why an empty result is empty: no Ready pods behind the Service, pods down
// (the answer lacks their series, which may be every one it reads: never "matched
// nothing"), or the history does not cover the query's window yet (or a selector matches
// nothing, which no window fixes), or else that the query matched nothing; "" when there
// are series or an error.
func (v *QueryView) Note() string {
	waiting := v.Window > 0 && v.History < v.Window && len(v.Unmatched) == 0 // for the window to fill
	switch {
	case len(v.Series) > 0 || v.Error != "":
		return ""
	case v.noPods():
		return v.noPodsLine()
	case len(v.PodsDown) > 0 && !waiting:
		return "No series from the pods that answered: the answer lacks the series of the pods down."
	case LeavesOutPods(v.Warnings) && !waiting:
		// Pods no longer scraped (not Ready: under load, the busiest) held what it reads.
		return "No series from the pods scraped: the answer leaves out the pods the warning names."
	case v.Window == 0 || v.History >= v.Window:
		return noSeries
	case len(v.Unmatched) > 0:
		return fmt.Sprintf("No series: the query matched nothing: %s matches no series the pods expose now (check the metric name and labels).",
			strings.Join(v.Unmatched, ", "))
	}
	need := "rate() and friends need two samples in the window"
	if v.onlyOffsets() {
		// sum(x offset 1m): no sample that far back yet, whatever the functions.
		need = "an offset needs a sample that far back"
	}
	return fmt.Sprintf("No series yet: the query reads %s back and the history covers %s; %s. Keep --watch running.",
		v.Window, v.History.Round(time.Millisecond), need)
}

// onlyOffsets reports whether every partial window of v is an offset's.
func (v *QueryView) onlyOffsets() bool {
	for _, p := range v.Partial {
		if !p.Offset {
			return false
		}
	}
	return len(v.Partial) > 0
}

// LeavesOutPods reports whether one of warnings (a pod source's, or podscrape serve's)
// says the answer leaves out pods whose series the query reads: pods no longer scraped
// (not Ready, or finished), or, from serve, pods that failed their scrape. Its selectors
// then match series of those pods, and an empty answer is not the query matching
// nothing.
func LeavesOutPods(warnings []string) bool { return leftout.In(warnings) }

// noSeries is the Note of an empty answer that nothing else explains.
const noSeries = "No series: the query matched nothing."

// noPods reports whether the refresh found no Ready pod to scrape.
func (v *QueryView) noPods() bool { return v.PodsScraped != nil && *v.PodsScraped == 0 }

// noPodsLine is what scrape says of a Service without Ready pods.
func (v *QueryView) noPodsLine() string {
	return fmt.Sprintf("No ready pods behind service %s.", v.Service)
}

// WriteQuery renders v as a table or as one JSON document (compact: on one line).
func WriteQuery(w io.Writer, v *QueryView, format Format, compact bool) error {
	sortSeries(v.Series)
	if format == FormatJSON {
		return writeQueryJSON(w, v, compact)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\non %s at %s", v.Expr, v.Backend, v.At.UTC().Format(timestampLayout))
	if v.History > 0 {
		fmt.Fprintf(&b, " (history %s)", v.History.Round(100*time.Millisecond))
	}
	b.WriteString("\n\n")
	switch {
	case v.Error != "":
		fmt.Fprintf(&b, "Error: %s\n", v.Error)
	case len(v.Series) == 0:
		fmt.Fprintln(&b, v.Note())
	default:
		if v.noPods() { // the series come from the history, or from the expression alone
			fmt.Fprintln(&b, v.noPodsLine())
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		trend := false
		for _, s := range v.Series {
			trend = trend || len(s.Trend) > 0
		}
		if trend {
			fmt.Fprintln(tw, "VALUE\tTREND\tLABELS")
		} else {
			fmt.Fprintln(tw, "VALUE\tLABELS")
		}
		for _, s := range v.Series {
			if trend {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", formatQueryValue(s.Value), Sparkline(append(slices.Clone(s.Trend), s.Value)), labelsText(s.Labels))
			} else {
				fmt.Fprintf(tw, "%s\t%s\n", formatQueryValue(s.Value), labelsText(s.Labels))
			}
		}
		_ = tw.Flush()
	}
	b.WriteString(QueryNotes(v))
	_, err := io.WriteString(w, b.String())
	return err
}

// JSONNotes are the table's lines that a json document's reader does not see beside its
// series: why the answer is empty (Note), that no Ready pod answered (above series of the
// expression alone: sum(x) or vector(0)), and QueryNotes. The one-shot json writes them
// on stderr.
func JSONNotes(v *QueryView) string {
	var b strings.Builder
	switch {
	case len(v.Series) == 0 && v.Note() != "":
		b.WriteString(v.Note() + "\n")
	case len(v.Series) > 0 && v.noPods():
		b.WriteString(v.noPodsLine() + "\n")
	}
	b.WriteString(QueryNotes(v))
	return b.String()
}

// QueryNotes are the lines the table writes below the series, saying what the answer
// lacks: each pod down, each window reaching before the history, the warnings. Written
// to stderr beside a json document, they tell a person what a program reads from it.
func QueryNotes(v *QueryView) string {
	var b strings.Builder
	for _, p := range v.PodsDown {
		fmt.Fprintf(&b, "Pod down (its series are stale, so the answer lacks them): %s\n", p)
	}
	unmatched := len(v.Series) == 0 && v.Error == "" && len(v.Unmatched) > 0
	for _, p := range v.Partial {
		switch {
		case unmatched: // a selector matches nothing: waiting for history will not help
		case p.Offset:
			fmt.Fprintf(&b, "Partial window (no sample that far back yet; keep --watch running): %s\n", p.Text)
		case len(v.Series) == 0: // a rate over one scrape: no value to call a lower bound
			fmt.Fprintf(&b, "Partial window (keep --watch running): %s\n", p.Text)
		case estimated(p, v.Warnings):
			// A rate over one scrape has no value: the values come from elsewhere
			// (sum(rate(x[1m])) or vector(0)), no lower bound of it.
			fmt.Fprintf(&b, "Partial window (no value from it yet: the values shown come from the rest of the expression; keep --watch running): %s\n", p.Text)
		default:
			fmt.Fprintf(&b, "Partial window (the values are a lower bound; keep --watch running): %s\n", p.Text)
		}
	}
	for _, warn := range v.Warnings {
		if !unmatched && estimateOfAPartialWindow(warn, v.Partial) {
			continue // a rate over one scrape: the window's line above says it, nothing was estimated
		}
		if unmatched && strings.HasSuffix(warn, estimatedSuffix) {
			continue // a selector matches nothing: there is no estimate to speak of
		}
		fmt.Fprintf(&b, "Warning: %s\n", warn)
	}
	return b.String()
}

// estimatedSuffix ends the pod source's warning of an estimate over a window longer than
// the history (a rate over the span held).
const estimatedSuffix = ": estimated over the span held"

// estimateOfAPartialWindow reports whether warn is the estimate warning of a window that
// partial already reports (the pod source writes both for a rate over one scrape, which
// estimates nothing).
func estimateOfAPartialWindow(warn string, partial []PartialWindow) bool {
	what, ok := strings.CutSuffix(warn, estimatedSuffix)
	if !ok {
		return false
	}
	for _, p := range partial {
		if strings.HasPrefix(p.Text, what+":") {
			return true
		}
	}
	return false
}

// estimated reports whether p is the window of an estimate (a rate), which the pod source
// reports as partial only when it has no value at all, beside its estimate warning.
func estimated(p PartialWindow, warnings []string) bool {
	for _, w := range warnings {
		if estimateOfAPartialWindow(w, []PartialWindow{p}) {
			return true
		}
	}
	return false
}

// Sparkline draws values as block characters scaled between their minimum and maximum;
// NaN and ±Inf draw as a space.
func Sparkline(values []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	runes := []rune(bars)
	var b strings.Builder
	for _, v := range values {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(runes[len(runes)/2])
		default:
			b.WriteRune(runes[int((v-lo)/(hi-lo)*float64(len(runes)-1)+0.5)])
		}
	}
	return b.String()
}

// QueryDocument is the json form of a QueryView. Values are strings so NaN and ±Inf
// survive.
type QueryDocument struct {
	Query          string                `json:"query"`
	Backend        string                `json:"backend"`
	At             time.Time             `json:"at"`
	HistorySeconds float64               `json:"historySeconds"`
	WindowSeconds  float64               `json:"windowSeconds"`
	Series         []QuerySeriesDocument `json:"series"`
	PodsScraped    *int                  `json:"podsScraped,omitempty"`
	PodsDown       []string              `json:"podsDown,omitempty"`
	Partial        []string              `json:"partial,omitempty"`
	Warnings       []string              `json:"warnings,omitempty"`
	Error          string                `json:"error,omitempty"`
	Note           string                `json:"note,omitempty"`
}

// QuerySeriesDocument is one series of a QueryDocument.
type QuerySeriesDocument struct {
	Labels map[string]string `json:"labels"`
	Value  string            `json:"value"`
}

func writeQueryJSON(w io.Writer, v *QueryView, compact bool) error {
	doc := QueryDocument{
		Query: v.Expr, Backend: v.Backend, At: v.At.UTC(),
		HistorySeconds: v.History.Seconds(), WindowSeconds: v.Window.Seconds(),
		Series: make([]QuerySeriesDocument, 0, len(v.Series)), PodsScraped: v.PodsScraped, PodsDown: v.PodsDown,
		Warnings: v.Warnings, Error: v.Error, Note: v.Note(),
	}
	for _, p := range v.Partial {
		doc.Partial = append(doc.Partial, p.Text)
	}
	for _, s := range v.Series {
		labels := s.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		doc.Series = append(doc.Series, QuerySeriesDocument{Labels: labels, Value: formatValue(s.Value)})
	}
	enc := json.NewEncoder(w)
	if !compact {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(doc)
}

// labelsText writes labels as {a="1", b="2"}, sorted, __name__ first.
func labelsText(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	if i := slices.Index(keys, "__name__"); i > 0 {
		keys = append(append([]string{"__name__"}, keys[:i]...), keys[i+1:]...)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// SeriesKey identifies a series by its labels, for following it across refreshes.
func SeriesKey(m map[string]string) string { return labelsText(m) }

func sortSeries(s []QuerySeries) {
	slices.SortFunc(s, func(a, b QuerySeries) int { return strings.Compare(labelsText(a.Labels), labelsText(b.Labels)) })
}
