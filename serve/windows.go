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
func (s *Server) partialWindows(windows []history.Window, start time.Time) (warnings []string, estimates []string, err error) {
	var errs []string
	for _, w := range windows {
		if w.Pinned || w.Reach == 0 {
			continue // an @ fixes the window's time; an instant selector reads no past
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
