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
// A caller that scrapes the same targets again and again gives each target a Memo and
// parses with ParseMemo: a line exposed as at the target's previous scrape is then not
// parsed again but for its value, and comes with the slot the caller filled for it.
//
// # Semantics
//
// The text format is parsed as github.com/prometheus/common/expfmt and Prometheus'
// model/textparse parse it: # HELP and # TYPE lines, other comments and blank lines
// ignored, `name{label="value",...} value [timestamp_ms]`, the escapes \\ \" and \n in
// label values, a trailing comma in a label set, Prometheus 3 quoted UTF-8 names
// (`{"my.metric","my.label"="v"} 1`, the name anywhere in the braces:
// `{"my.label"="v","my.metric"} 1`), and a last line without its newline. Where the two
// differ, the more lenient wins when nothing can be misread (trailing blanks after a
// value are accepted as textparse does), the stricter wins otherwise.
//
// Some text-format forms are read as textparse's lexer reads them, which is what a
// Prometheus server stores: labels need no comma between them (`a{b="1" c="2"}`, even
// `a{b="1"c="2"}`); a comment is # HELP or # TYPE only when a blank follows the '#'
// (`#TYPE h histogram` is a plain comment); a metadata line's text starts one byte
// after the name, whatever that byte is (`# HELP foo.bar x` is foo's help "bar x";
// `# HELP a\r` is a's empty help); and a quoted name on a metadata line may be empty
// or invalid UTF-8 (no sample is of that family, and Options.Metadata does not hear of
// it, but its # TYPE applies).
//
// Samples are what Prometheus (v0.316, textparse) stores, so that a series has the same
// labels here as in a Prometheus server: a backslash before anything but \ " n, in a
// label value or a quoted name, is kept with the byte after it (`C:\Program Files`,
// `\t`: expfmt rejects these); an le value under a # TYPE histogram line and a quantile
// value under a # TYPE summary line are stored in canonical float form (le="1" as "1.0",
// quantile="0.50" as "0.5"; a value that is not a float stays as exposed), in both
// formats, whichever sample follows the # TYPE line, as textparse does.
//
// OpenMetrics 1.0 adds # UNIT, the types gaugehistogram, info, stateset and unknown,
// timestamps in float seconds (converted to milliseconds as Prometheus does: truncated
// toward zero), exemplars and the mandatory # EOF at the end, with nothing after it on
// its line or below (an exposition of no bytes at all needs none: Prometheus' scrape
// loop takes an empty body for an empty scrape before it picks a parser, so Parse
// takes it for an empty exposition in either format). As in textparse, # HELP, # TYPE and # UNIT lines need a name and a
// blank after it, # TYPE lines a type, a # UNIT must be a suffix of the name (x_seconds
// for seconds), and labels a comma between them. _created series are samples, as
// Prometheus ingests them by default. OpenMetrics whitespace is parsed with the text
// format's rules (blank lines, runs of blanks, a blank or tab after '#'), and comments
// other than metadata are ignored (#TYPE among them), where the specification and
// textparse are stricter. Exemplars are dropped, and fail the exposition only where
// textparse does (syntax, a value or timestamp that is not a float, a NaN or infinite
// timestamp, invalid UTF-8 in a value), not on what Prometheus' exemplar storage alone
// refuses (an empty or invalid UTF-8 quoted label name, a timestamp beyond int64
// milliseconds). A sample whose timestamp, finite, is beyond int64 milliseconds (1e300)
// is dropped and counted (Parser.OutOfBounds), as Prometheus' TSDB refuses that sample
// alone; NaN or ±Inf fails the exposition, as in textparse.
//
// Beyond the syntax, an exposition is rejected when a name or label value is not valid
// UTF-8 or a label name repeats within a sample; ParseError gives the line. Samples
// skipped by Options.Keep are checked alike, so whether Parse fails never depends on
// Keep. A series (name and label set, in any order, as stored) that repeats keeps its
// first sample; the repeat is dropped and counted (Parser.Duplicates), as Prometheus
// drops and counts it, but for one case where it does not: a repeat whose own timestamp
// is later than the series' samples before it (`a 1 1000` then `a 2 2000`; the scrape's
// time, Parser.SetScrapeTime, for a sample without one), which Prometheus' TSDB stores
// as the series' next sample: it is passed on, with Sample.Repeat set.
//
// Options.Metadata receives each family's # TYPE, # HELP and # UNIT.
//
// Three readings differ from textparse's on purpose, where the line-at-a-time reading
// is the sane one and no real exposition is known to rely on textparse's: blanks that
// indent a sample line are skipped (textparse keeps them in the metric name, "  a"); a
// quoted label value ends at the end of its line (textparse reads on into the next); a
// NUL is an invalid byte (textparse takes it for the end of the exposition). A label
// name given twice in a sample fails the exposition even when one of its values is
// empty (labels.Builder drops every label of that name, and Prometheus stores the
// rest).
//
// # Families
//
// Each sample names the family it belongs to: the family of the latest # TYPE, # HELP
// or # UNIT line when the sample's name is that family's name or the family's name plus
// a suffix its type allows (the type its # TYPE line gave it, even one before another
// family's lines, as Prometheus' scrape cache keeps it) (histogram: _bucket, _sum, _count; summary: _sum, _count; and
// in OpenMetrics counter: _total; gaugehistogram: _bucket, _gcount, _gsum; info: _info).
// Otherwise the sample is its own family; so is an OpenMetrics _created series, which
// the text format does not have: a histogram's or summary's family has the same series
// in both formats.
package exposition
