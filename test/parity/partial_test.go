package parity

import (
	"errors"
	"slices"
	"strings"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// partialWindowWarning is in the warning of an estimate's window (rate, max_over_time)
// reaching before the pod source's history: the pod source says so, Prometheus, which
// started as the source did, has the same short span and says nothing.
const partialWindowWarning = "reaches before the history's oldest scrape"

// beyondPartialWindow returns the pod source result's Error and Warnings without what
// the history's short span adds: a *PartialWindowError alone, and the partial-window
// warnings. Both backends started together, so both answer over the same short span; the
// values are compared as they are.
func beyondPartialWindow(r *source.MetricResult) (error, []string) {
	err := r.Error
	var pw *pod.PartialWindowError
	if errors.As(err, &pw) && err.Error() == pw.Error() {
		err = nil
	}
	warnings := slices.DeleteFunc(slices.Clone(r.Warnings), func(w string) bool {
		return strings.Contains(w, partialWindowWarning)
	})
	if len(warnings) == 0 {
		warnings = nil
	}
	return err, warnings
}
