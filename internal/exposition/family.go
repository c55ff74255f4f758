package exposition

import "bytes"

// metricType is the type of a metric family from its # TYPE line.
type metricType uint8

const (
	typeUnknown metricType = iota // untyped, unknown, or no # TYPE line
	typeCounter
	typeGauge
	typeHistogram
	typeGaugeHistogram
	typeSummary
	typeInfo
	typeStateset
)

// parseType parses the type of a # TYPE line. OpenMetrics types are lower case; the text
// format takes any case and gauge histograms, as expfmt does.
func parseType(b []byte, om bool) (metricType, bool) {
	if om {
		switch string(b) {
		case "counter":
			return typeCounter, true
		case "gauge":
			return typeGauge, true
		case "histogram":
			return typeHistogram, true
		case "gaugehistogram":
			return typeGaugeHistogram, true
		case "summary":
			return typeSummary, true
		case "info":
			return typeInfo, true
		case "stateset":
			return typeStateset, true
		case "unknown":
			return typeUnknown, true
		}
		return 0, false
	}
	for _, t := range [...]struct {
		name string
		typ  metricType
	}{
		{"counter", typeCounter},
		{"gauge", typeGauge},
		{"histogram", typeHistogram},
		{"summary", typeSummary},
		{"untyped", typeUnknown},
		{"gauge_histogram", typeGaugeHistogram},
		{"gaugehistogram", typeGaugeHistogram},
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
func suffixAllowed(t metricType, om bool, suffix string) bool {
	switch t {
	case typeCounter:
		return om && (suffix == "_total" || suffix == "_created")
	case typeHistogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || om && suffix == "_created"
	case typeGaugeHistogram:
		if om {
			return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum"
		}
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count"
	case typeSummary:
		return suffix == "_sum" || suffix == "_count" || om && suffix == "_created"
	case typeInfo:
		return om && suffix == "_info"
	}
	return false
}
