package exposition

import "bytes"

// MetricType is the type of a metric family, from its # TYPE line. The zero value is
// TypeUnknown: a family with no # TYPE line, the text format's untyped, OpenMetrics'
// unknown.
type MetricType uint8

// The metric types of the text format and OpenMetrics.
const (
	TypeUnknown        MetricType = iota // untyped, unknown, or no # TYPE line
	TypeCounter                          // counter
	TypeGauge                            // gauge
	TypeHistogram                        // histogram
	TypeGaugeHistogram                   // gaugehistogram (the text format's gauge_histogram too)
	TypeSummary                          // summary
	TypeInfo                             // info (OpenMetrics)
	TypeStateset                         // stateset (OpenMetrics)
)

// String returns the type as OpenMetrics and Prometheus' model.MetricType name it:
// counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown.
func (t MetricType) String() string {
	switch t {
	case TypeCounter:
		return "counter"
	case TypeGauge:
		return "gauge"
	case TypeHistogram:
		return "histogram"
	case TypeGaugeHistogram:
		return "gaugehistogram"
	case TypeSummary:
		return "summary"
	case TypeInfo:
		return "info"
	case TypeStateset:
		return "stateset"
	}
	return "unknown"
}

// parseType parses the type of a # TYPE line. OpenMetrics types are lower case; the text
// format takes any case and gauge histograms, as expfmt does.
func parseType(b []byte, om bool) (MetricType, bool) {
	if om {
		switch string(b) {
		case "counter":
			return TypeCounter, true
		case "gauge":
			return TypeGauge, true
		case "histogram":
			return TypeHistogram, true
		case "gaugehistogram":
			return TypeGaugeHistogram, true
		case "summary":
			return TypeSummary, true
		case "info":
			return TypeInfo, true
		case "stateset":
			return TypeStateset, true
		case "unknown":
			return TypeUnknown, true
		}
		return 0, false
	}
	for _, t := range [...]struct {
		name string
		typ  MetricType
	}{
		{"counter", TypeCounter},
		{"gauge", TypeGauge},
		{"histogram", TypeHistogram},
		{"summary", TypeSummary},
		{"untyped", TypeUnknown},
		{"gauge_histogram", TypeGaugeHistogram},
		{"gaugehistogram", TypeGaugeHistogram},
	} {
		if bytes.EqualFold(b, []byte(t.name)) {
			return t.typ, true
		}
	}
	return 0, false
}

// familyOf returns the family of a sample named name: the current family when name is
// its name or its name plus a suffix its type allows, else name itself.
func (p *Parser) familyOf(name string) string {
	f := p.family
	if len(name) < len(f) || f == "" || name[:len(f)] != f {
		return name
	}
	if len(name) == len(f) {
		return f
	}
	if suffixAllowed(p.ftype, p.format == FormatOpenMetrics, name[len(f):]) {
		return f
	}
	return name
}

// suffixAllowed reports whether a sample of a family of type t may be named the family's
// name plus suffix.
//
// An OpenMetrics _created series is not in its family: the text format has no such
// series, and Prometheus (v0.316 by default) stores it as a series of its own name, so a
// family's samples are the same whichever format a target negotiates.
func suffixAllowed(t MetricType, om bool, suffix string) bool {
	switch t {
	case TypeCounter:
		return om && suffix == "_total"
	case TypeHistogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count"
	case TypeGaugeHistogram:
		if om {
			return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum"
		}
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count"
	case TypeSummary:
		return suffix == "_sum" || suffix == "_count"
	case TypeInfo:
		return om && suffix == "_info"
	}
	return false
}
