package exposition

import (
	"errors"
	"fmt"
)

// Format is an exposition format, chosen from a response's Content-Type by
// ParseContentType. The zero value is no format: Parse rejects it.
type Format uint8

const (
	// FormatText is the Prometheus text format 0.0.4 (text/plain; version=0.0.4).
	FormatText Format = iota + 1
	// FormatOpenMetrics is OpenMetrics 1.0 text (application/openmetrics-text; version=1.0.0).
	FormatOpenMetrics
)

// String names the format for messages.
func (f Format) String() string {
	switch f {
	case FormatText:
		return "Prometheus text 0.0.4"
	case FormatOpenMetrics:
		return "OpenMetrics 1.0"
	default:
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
}

// AcceptHeader is the Accept header a scraper sends: a Prometheus v0.316 server's, with
// its default scrape_protocols and metric_name_escaping_scheme, so that a target serves
// podscrape the exposition it serves Prometheus. OpenMetrics 1.0.0 first, then
// OpenMetrics 0.0.1, the text format 1.0.0 and 0.0.4, anything else last (its
// Content-Type then decides); escaping=allow-utf-8 asks for names as they are: without
// it a client_golang target escapes vllm.num_requests.waiting as
// vllm_num_requests_waiting, which a query written for Prometheus does not find.
const AcceptHeader = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7," +
	"application/openmetrics-text;version=0.0.1;q=0.6," +
	"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5," +
	"text/plain;version=0.0.4;q=0.4," +
	"*/*;q=0.3"

// Label is one exposed label pair, a plain value. __name__ is never among a Sample's
// Labels.
type Label struct {
	Name, Value string
}

// Sample is one sample line of an exposition.
//
// Name, Family and every Label's Name and Value are immutable strings (interned when the
// Parser has an Interner) and may be kept. The Labels slice itself is reused by the Parser:
// it is valid only until the emit callback returns; copy it to keep it.
type Sample struct {
	// Name is the series name as exposed: x_total, x_bucket, x_sum, x_count, x.
	Name string
	// Family is the metric family the sample belongs to, from the preceding # TYPE,
	// # HELP or # UNIT line (x for x_bucket of histogram x); Name when no metadata
	// names it. The package documentation lists the suffixes each type allows.
	Family string
	// Labels are the exposed labels in exposition order, without __name__. A label with
	// an empty value is kept as exposed.
	Labels []Label
	// Value is the sample value; NaN and ±Inf are valid values.
	Value float64
	// TimestampMs is the exposition's own timestamp in milliseconds since the Unix
	// epoch; meaningful only when HasTimestamp.
	TimestampMs int64
	// HasTimestamp reports whether the sample line carried a timestamp.
	HasTimestamp bool
	// Hash identifies the sample's series (its name and label set, in any order, le
	// and quantile values compared as numbers) among the series of every Parser with
	// the same Options.HashSeed: the same series has the same Hash in every exposition.
	// Two different series share a Hash with a chance of about 2^-64, on which the
	// Parser's own check for repeated series relies as well.
	Hash uint64
	// Slot, from ParseMemo only, is the Memo's slot for this sample line: the caller may
	// keep its own handle on the series there (what it built from the Labels). Nil from
	// Parse.
	Slot *any
	// Memoized says the line was found unchanged in the Memo (ParseMemo) and was not
	// parsed again: Labels is nil and Slot holds what the caller left there; Name,
	// Family, Hash, Value and the timestamp are as always.
	Memoized bool
	// Repeat says the sample's series appeared earlier in the exposition: this line
	// carries a timestamp of its own later than the series' earlier samples, which
	// Prometheus stores as a further sample of the series (see Parser.Parse).
	Repeat bool
	// Stored, with Parser.SetPoints, says the target's previous exposition gave this
	// series, one with several points of their own timestamps, a point at or after
	// this one's: a store that took that exposition has it, or refuses it as out of
	// order, as Prometheus' storage drops it without a word (see Points).
	Stored bool
}

// ErrSampleLimit is returned (wrapped) when an exposition holds more samples than
// Options.SampleLimit allows.
var ErrSampleLimit = errors.New("sample limit exceeded")

// ParseError is a syntax or content error in an exposition. Line is 1-based; Input quotes
// the offending line, truncated to a readable length (a truncated Input ends in "...").
type ParseError struct {
	Line  int
	Input string
	Msg   string
}

// Error formats the error as `line N: msg: "input"`, or `line N: msg` without input.
func (e *ParseError) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %q", e.Line, e.Msg, e.Input)
}
