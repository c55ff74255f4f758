package localcluster

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
)

// textWriter writes the Prometheus text format 0.0.4 the way client_golang does, so the
// simulated pods read like the real ones: HELP and TYPE before each family, labels sorted
// by name with le last, floats in their shortest form. The zero value is ready to use.
type textWriter struct {
	b bytes.Buffer
}

// label is one label pair.
type label struct{ name, value string }

// labels builds a label list from name, value pairs.
func labels(pairs ...string) []label {
	out := make([]label, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, label{pairs[i], pairs[i+1]})
	}
	return out
}

func (w *textWriter) family(name, typ, help string) {
	w.b.WriteString("# HELP ")
	w.b.WriteString(name)
	w.b.WriteByte(' ')
	w.escape(help, false)
	w.b.WriteString("\n# TYPE ")
	w.b.WriteString(name)
	w.b.WriteByte(' ')
	w.b.WriteString(typ)
	w.b.WriteByte('\n')
}

// sample writes one sample line; ls must be sorted by name (le, when present, last).
func (w *textWriter) sample(name string, ls []label, v float64) {
	w.b.WriteString(name)
	if len(ls) > 0 {
		w.b.WriteByte('{')
		for i, l := range ls {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(l.name)
			w.b.WriteString(`="`)
			w.escape(l.value, true)
			w.b.WriteByte('"')
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(formatFloat(v))
	w.b.WriteByte('\n')
}

// single writes a family of one series: a gauge or a counter.
func (w *textWriter) single(name, typ, help string, ls []label, v float64) {
	w.family(name, typ, help)
	w.sample(name, sortLabels(ls), v)
}

// histogram writes the _bucket, _sum and _count series of h under ls.
func (w *textWriter) histogram(name string, ls []label, h *histogram) {
	ls = sortLabels(ls)
	var cum uint64
	for i, bound := range h.bounds {
		cum += h.counts[i]
		w.sample(name+"_bucket", append(slices.Clone(ls), label{"le", formatFloat(bound)}), float64(cum))
	}
	w.sample(name+"_bucket", append(slices.Clone(ls), label{"le", "+Inf"}), float64(h.count))
	w.sample(name+"_sum", ls, h.sum)
	w.sample(name+"_count", ls, float64(h.count))
}

// escape writes s escaped as the text format wants: backslash and line feed always,
// double quotes in label values.
func (w *textWriter) escape(s string, quotes bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			w.b.WriteString(`\\`)
		case c == '\n':
			w.b.WriteString(`\n`)
		case c == '"' && quotes:
			w.b.WriteString(`\"`)
		default:
			w.b.WriteByte(c)
		}
	}
}

// bytes returns the text written so far; the slice is the writer's.
func (w *textWriter) bytes() []byte { return w.b.Bytes() }

func sortLabels(ls []label) []label {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	return ls
}

// formatFloat formats v as client_golang does.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// histogram is a cumulative Prometheus histogram with fixed bucket bounds. Not safe for
// concurrent use: the Simulation's lock guards it.
type histogram struct {
	bounds []float64 // upper bounds, ascending, +Inf implied
	counts []uint64  // observations per bucket, len(bounds)+1 (the last is +Inf)
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// observe records n observations of v.
func (h *histogram) observe(v float64, n uint64) {
	if n == 0 {
		return
	}
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i] += n
	h.sum += v * float64(n)
	h.count += n
}
