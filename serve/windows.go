package serve

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/history"
)

// partialWindows checks the windows of an expression (history.Windows: the library's own
// analysis, so serve and the pod source class a function alike), evaluated from start,
// against the histories of the Services it reads. A window reaching back before a
// Service's oldest scrape by more than the Service's interval (Prometheus extrapolates
// over a gap that short) is partial: for a summing function or an offset it is an error
// (HTTP 422) unless allowPartial, otherwise a warning, which estimates also holds for
// estimateEmpty: the error of an answer with no value at all (a rate over one scrape
// estimates nothing, and an empty answer would read as no load).
//
// An instant query (instant set) evaluated before a Service's oldest scrape still held
// reads nothing of it with an instant selector: such a selector is partial as an offset
// before the history is (x at an hour ago reads what x offset 1h reads at now). A range
// query's instant selectors are not checked: its steps before the history are gaps, as
// in a Prometheus server asked for more than its retention.
func (s *Server) partialWindows(windows []history.Window, start time.Time, instant bool) (warnings []string, estimates []string, err error) {
	var errs []string
	for _, w := range windows {
		if w.Pinned {
			continue // an @ fixes the window's time
		}
		if w.Reach == 0 {
			if instant {
				warnings, errs = s.beforeHistory(w, start, warnings, errs)
			}
			continue
		}
		from := start.Add(-w.Reach)
		for _, svc := range s.services {
			oldest, _ := svc.hist.Span()
			if oldest.IsZero() || !from.Add(svc.cfg.Interval).Before(oldest) {
				continue
			}
			if !svc.reads(w.Matchers) {
				continue
			}
			held := start.Sub(oldest).Truncate(time.Millisecond)
			desc := fmt.Sprintf("%s reads back %s from %s, but service %s has samples only since %s (%s)",
				w.Text, model.Duration(w.Reach), start.UTC().Format(time.RFC3339), svc.key, oldest.UTC().Format(time.RFC3339), held)
			switch {
			case w.Sums && !s.cfg.AllowPartialWindows:
				errs = append(errs, fmt.Sprintf("partial window: %s: %s would answer less than the truth", desc, what(w)))
			case w.Sums:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer covers only that span and is smaller than over the full window", desc))
			default:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer is computed over that shorter span", desc))
				estimates = append(estimates, desc)
			}
		}
	}
	if len(errs) > 0 {
		return warnings, estimates, &apiError{errorExec, errors.New(strings.Join(errs, "; "))}
	}
	return warnings, estimates, nil
}

// beforeHistory checks an instant selector w (Reach zero) of an instant query at start:
// a Service it reads whose oldest scrape still held is after start has no sample for it.
// It appends the error (or, under AllowPartialWindows, the warning) to errs (warnings).
func (s *Server) beforeHistory(w history.Window, start time.Time, warnings, errs []string) ([]string, []string) {
	for _, svc := range s.services {
		oldest, _ := svc.hist.Span()
		if oldest.IsZero() || !start.Before(oldest) || !svc.reads(w.Matchers) {
			continue
		}
		desc := fmt.Sprintf("%s at %s: service %s has samples only since %s (%s later)", w.Text,
			start.UTC().Format(warningTime), svc.key, oldest.UTC().Format(warningTime), oldest.Sub(start).Truncate(time.Millisecond))
		if s.cfg.AllowPartialWindows {
			warnings = append(warnings, fmt.Sprintf("before the history: %s: the answer leaves the service out", desc))
		} else {
			errs = append(errs, fmt.Sprintf("before the history: %s: its answer would leave the service out", desc))
		}
	}
	return warnings, errs
}

// estimateEmpty is the error of an answer with no value whose estimates' windows
// (partialWindows) reach before the history: nil under AllowPartialWindows, which
// answers it with their warnings.
func (s *Server) estimateEmpty(estimates []string) error {
	if len(estimates) == 0 || s.cfg.AllowPartialWindows {
		return nil
	}
	return &apiError{errorExec, fmt.Errorf("partial window: %s: too little history to estimate from, no value", strings.Join(estimates, "; "))}
}

// what names what a partial window's answer is.
func what(w history.Window) string {
	if w.Func == "" {
		return "the offset"
	}
	return w.Func
}
