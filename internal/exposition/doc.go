// Package exposition is a streaming parser for the Prometheus text format 0.0.4 and
// OpenMetrics 1.0 text that turns an exposition into one Sample per sample line.
//
// It is a leaf: it imports nothing from this module. source/pod turns its Samples into
// MetricValues.
//
// # Use
//
// Pick the format from the response's Content-Type with ParseContentType, then give the
// body to a Parser. A Parser is reused across expositions (its buffers are kept), one
// goroutine at a time; an Interner is shared by all the Parsers of a source so that the
// names and label values of a steady exposition are allocated once, not once per scrape.
//
// # Semantics
//
// The text format is parsed as github.com/prometheus/common/expfmt and Prometheus'
// model/textparse parse it: # HELP and # TYPE lines, other comments and blank lines
// ignored, `name{label="value",...} value [timestamp_ms]`, the escapes \\ \" and \n in
// label values, a trailing comma in a label set, Prometheus 3 quoted UTF-8 names
// (`{"my.metric","my.label"="v"} 1`), and a last line without its newline. Where the two
// differ, the more lenient wins when nothing can be misread (trailing blanks after a
// value are accepted as textparse does), the stricter wins otherwise (an unknown escape
// in a label value is an error, as in expfmt). A quoted metric name must be the first
// item in its braces.
//
// OpenMetrics 1.0 adds # UNIT, the types gaugehistogram, info, stateset and unknown,
// timestamps in float seconds (converted to milliseconds as Prometheus does: truncated
// toward zero), exemplars (validated lightly and dropped) and the mandatory # EOF at the
// end. Its whitespace is parsed with the text format's rules (blank lines, runs of
// blanks), which the specification forbids and this parser tolerates.
//
// Beyond the syntax, an exposition is rejected when a name or label value is not valid
// UTF-8, a label name repeats within a sample, or a series (name and label set, in any
// order) repeats; ParseError gives the line. Samples skipped by Options.Keep are checked
// only up to their name.
//
// # Families
//
// Each sample names the family it belongs to: the family of the latest # TYPE, # HELP
// or # UNIT line when the sample's name is that family's name or the family's name plus
// a suffix its type allows (histogram: _bucket, _sum, _count; summary: _sum, _count; and
// in OpenMetrics counter: _total, _created; histogram and summary also _created;
// gaugehistogram: _bucket, _gcount, _gsum; info: _info). Otherwise the sample is its own
// family.
package exposition
