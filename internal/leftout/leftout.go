package leftout

import (
	"slices"
	"strings"
)

// Pods is the noun of n pods: "pod" for one, "pods" otherwise ("0 pods", "3 pods").
func Pods(n int) string {
	if n == 1 {
		return "pod"
	}
	return "pods"
}

// Are is the verb of n pods: "is" for one, "are" otherwise.
func Are(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// Their is the possessive of n pods: "its" for one, "their" otherwise.
func Their(n int) string {
	if n == 1 {
		return "its"
	}
	return "their"
}

// Clause is what such a warning says of the n pods it names: "the answer leaves it
// out" for one, "the answer leaves them out" otherwise.
func Clause(n int) string {
	if n == 1 {
		return clauseOne
	}
	return clauseMore
}

const (
	clauseOne  = "the answer leaves it out"
	clauseMore = "the answer leaves them out"
)

// In reports whether one of warnings says an answer leaves out pods (it has a Clause).
func In(warnings []string) bool {
	return slices.ContainsFunc(warnings, func(w string) bool {
		return strings.Contains(w, clauseOne) || strings.Contains(w, clauseMore)
	})
}
