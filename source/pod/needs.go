package pod

import (
	"strings"

	"github.com/podscrape/podscrape/internal/history"
)

// placeholderFill stands for every {{…}} placeholder when a template is read before its
// params are known: it parses inside a string, as a number and as a range.
const placeholderFill = "1m"

// placeholderProbe stands for one placeholder at a time, to find those where a metric
// name could stand: it parses only where an identifier may, and a selector whose metric
// name holds it was named by the placeholder.
const placeholderProbe = "podscrape_placeholder_probe"

// templateReads returns what a PromQL template reads whatever its params: the metric
// names it names; all when it may read any metric (a selector that names no metric with
// an equality matcher, or a template that does not parse with its placeholders filled);
// byParams when a placeholder stands where a metric name could ({{.metric}},
// {{.metric}}_total, {__name__="{{.metric}}"}, {"{{.metric}}"}): then what it reads is
// known only once its params are, and names and all say nothing (see filledReads).
func templateReads(template string) (names []string, all, byParams bool) {
	spans := placeholders(template)
	for i := range spans {
		probed, err := history.Reads(fill(template, spans, i))
		if err != nil {
			continue // an identifier cannot stand there: neither can a metric name
		}
		for _, r := range probed {
			if strings.Contains(r.Metric, placeholderProbe) {
				return nil, false, true
			}
		}
	}
	reads, err := history.Reads(fill(template, spans, -1))
	if err != nil {
		return nil, true, false
	}
	return readNames(reads)
}

// filledReads returns what expr, a template filled with its params, reads: the metric
// names it names, or all when a selector names none. An expression that does not parse
// reads nothing: its evaluation reports it.
func filledReads(expr string) (names []string, all bool) {
	reads, err := history.Reads(expr)
	if err != nil {
		return nil, false
	}
	names, all, _ = readNames(reads)
	return names, all
}

// readNames returns the distinct metric names of reads in order, or all when one names
// none.
func readNames(reads []history.Read) (names []string, all, byParams bool) {
	seen := map[string]bool{}
	for _, r := range reads {
		if r.Metric == "" {
			return nil, true, false
		}
		if !seen[r.Metric] {
			seen[r.Metric] = true
			names = append(names, r.Metric)
		}
	}
	return names, false, false
}

// span is the position of one {{…}} placeholder in a template: [start, end).
type span struct{ start, end int }

// placeholders returns the spans of template's {{…}} placeholders in order.
func placeholders(template string) []span {
	var out []span
	for off := 0; ; {
		i := strings.Index(template[off:], "{{")
		if i < 0 {
			return out
		}
		j := strings.Index(template[off+i:], "}}")
		if j < 0 {
			return out
		}
		out = append(out, span{off + i, off + i + j + 2})
		off += i + j + 2
	}
}

// fill returns template with its placeholders replaced by placeholderFill, but the one at
// probe (an index into spans; -1 for none), replaced by placeholderProbe.
func fill(template string, spans []span, probe int) string {
	var b strings.Builder
	last := 0
	for i, s := range spans {
		b.WriteString(template[last:s.start])
		if i == probe {
			b.WriteString(placeholderProbe)
		} else {
			b.WriteString(placeholderFill)
		}
		last = s.end
	}
	b.WriteString(template[last:])
	return b.String()
}
