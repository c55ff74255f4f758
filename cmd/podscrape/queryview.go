package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// evaluation turns what each Refresh of podscrape query returned into the QueryView it
// shows.
type evaluation struct {
	expr    string        // the query as evaluated, params filled in
	backend string        // where it runs, as messages name it
	service string        // the Service whose pods it runs on, namespace/name; "" for a Prometheus server
	window  time.Duration // how far back the query reads
	span    func() (oldest, newest time.Time)
	checks  []selectorCheck
	trends  map[string][]float64 // each series' past values, by SeriesKey; nil: no sparklines
}

// view is the QueryView of one Refresh, which started at started and returned rs and
// err. A Refresh that evaluated nothing (the Service not found, the API or the Secret
// unreadable) is its error alone, so that a watch shows it and goes on; the trends wait
// for the next answer.
func (e *evaluation) view(rs map[string]*source.MetricResult, err error, started time.Time) *render.QueryView {
	oldest, newest := e.span()
	view := &render.QueryView{Expr: e.expr, Backend: e.backend, Service: e.service, At: started,
		History: newest.Sub(oldest), Window: e.window}
	r := rs[queryName]
	if r == nil {
		if err == nil { // not what Refresh does; but never let it read as "no series"
			err = errors.New("the refresh returned no result")
		}
		view.Error = err.Error()
		return view
	}
	view.At = r.CollectedAt
	if pr := rs[podsQueryName]; pr != nil {
		n := len(pr.PodStatuses())
		view.PodsScraped = &n
	}
	for _, c := range e.checks {
		// A selector matching only series of pods the answer leaves out (no longer
		// Ready) matches something: no mistyped name.
		if cr := rs[c.name]; cr != nil && cr.Error == nil && len(cr.Values) == 0 && !render.LeavesOutPods(cr.Warnings) {
			view.Unmatched = append(view.Unmatched, c.selector)
		}
	}
	for _, w := range r.Warnings {
		view.Warnings = append(view.Warnings, withoutQueryName(w, e.expr))
	}
	for _, pe := range source.PodErrors(r.Error) {
		view.PodsDown = append(view.PodsDown, pe.PodName()+": "+pe.Error())
	}
	var failed []string
	for _, pe := range withoutPodErrors(r.Error) {
		var pw *pod.PartialWindowError
		switch {
		case errors.As(pe, &pw):
			view.Partial = append(view.Partial, render.PartialWindow{Text: withoutQueryName(pe.Error(), e.expr), Offset: pw.Func == "offset"})
		case errors.Is(pe, pod.ErrPartialWindow):
			view.Partial = append(view.Partial, render.PartialWindow{Text: withoutQueryName(pe.Error(), e.expr)})
		default:
			failed = append(failed, withoutQueryName(pe.Error(), e.expr))
		}
	}
	view.Error = strings.Join(failed, "; ")
	seen := map[string]bool{}
	for _, v := range r.Values {
		key := render.SeriesKey(v.Labels)
		seen[key] = true
		s := render.QuerySeries{Labels: v.Labels, Value: v.Value}
		if e.trends != nil {
			s.Trend = e.trends[key]
			e.trends[key] = append(e.trends[key], v.Value)
			if len(e.trends[key]) > trendLength-1 {
				e.trends[key] = e.trends[key][1:]
			}
		}
		view.Series = append(view.Series, s)
	}
	maps.DeleteFunc(e.trends, func(k string, _ []float64) bool { return !seen[k] })
	return view
}

// withoutPodErrors returns err's parts that are not a pod's scrape failure (those are
// listed as pods down): a parse or evaluation error, a partial window, a history limit.
func withoutPodErrors(err error) []error {
	var parts []error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if _, ok := err.(source.PodError); ok {
			return
		}
		parts = append(parts, err)
	}
	walk(err)
	return parts
}

// writeOnce writes a one-shot answer: its series on stdout and its error returned, so
// that the error is printed once, on stderr (run prints it), and the exit code says the
// query failed. A table without series and with an error has nothing to say on stdout;
// json always writes its document, error included, for the program reading it, and, as
// scrape -o json warns of a failed pod, the table's notes on stderr: what the answer
// lacks (a pod down, a window the history does not cover) shows where `| jq` prints a
// number.
func writeOnce(stdout, stderr io.Writer, view *render.QueryView, format render.Format, refreshErr error) error {
	failure := onceError(view, refreshErr)
	if format == render.FormatTable {
		view.Error = ""
		if failure != nil && len(view.Series) == 0 {
			return failure
		}
	}
	if err := render.WriteQuery(stdout, view, format, false); err != nil {
		return err
	}
	if format == render.FormatJSON && failure == nil {
		_, _ = io.WriteString(stderr, render.JSONNotes(view)) // diagnostics: a closed stderr does not fail the answer, as scrape's warnings
	}
	return failure
}

// onceError is the error a one-shot query ends with, nil when it has none. Every pod
// failing is the refresh's own error, as scrape's: it names each pod and why (errorText
// gives each its line), where the query's error says only that every pod failed.
func onceError(view *render.QueryView, refreshErr error) error {
	switch {
	case errors.Is(refreshErr, pod.ErrAllPodsFailed):
		return refreshErr
	case view.Error != "":
		return fmt.Errorf("query on %s: %s", view.Backend, view.Error)
	}
	return refreshErr
}
