package exposition

import (
	"fmt"
	"hash/maphash"
	"io"
)

const (
	// maxRetainedLabels is the longest label slice a Parser keeps between expositions.
	maxRetainedLabels = 1 << 10
	// maxRetainedScratch is the largest unescaping buffer a Parser keeps.
	maxRetainedScratch = 64 << 10
)

// Options configure a Parser. The zero value keeps every sample, has no sample limit,
// and lets the Parser allocate the strings.
type Options struct {
	// Interner, when set, supplies every name and label value, so that an exposition
	// seen before allocates no strings. It is typically shared by all the Parsers of a
	// source. Nil: the Parser allocates strings, reusing only those it saw recently.
	Interner *Interner

	// Keep, when set, is called once per sample line, with its name and family, before
	// the line's labels are parsed; false skips the rest of the line unchecked, and the
	// sample is still counted. Nil keeps every sample.
	Keep func(name, family string) bool

	// SampleLimit, when positive, is the most sample lines an exposition may hold,
	// counting those Keep skips, so that a target fails or not whatever the caller asks
	// for. One more makes Parse return an error wrapping ErrSampleLimit. Zero or less
	// means no limit.
	SampleLimit int
}

// Parser parses expositions into Samples. It keeps its buffers from one exposition to
// the next, so reuse one Parser rather than making one per exposition: a buffer for the
// longest line (64 KiB at least; one for a line over 1 MiB is dropped after use), 16 to
// 32 bytes per series of the largest exposition, and a cache of recent strings (at most
// 352 KiB).
//
// A Parser is not safe for concurrent use: give each goroutine its own. The zero value
// is a Parser with zero Options.
type Parser struct {
	opts Options
	lr   lineReader

	// The current exposition.
	format  Format
	samples int    // sample lines seen
	family  string // the family named by the latest metadata line
	ftype   metricType
	eof     bool // OpenMetrics # EOF seen
	series  seriesSet

	// The current sample, handed to emit.
	sample  Sample
	labels  []Label  // backs sample.Labels
	scratch []byte   // unescaped quoted strings
	names   []string // label names, sorted to find a duplicate

	// Strings and their hashes: the previous sample's, as consecutive samples share
	// most of them and comparing bytes is cheapest, then recent ones.
	prevName     string
	prevNameHash uint64
	prev         []prevLabel // by label position
	recent       recentStrings
}

// prevLabel is a label of an earlier sample with the hashes of its parts.
type prevLabel struct {
	name, value         string
	nameHash, valueHash uint64
	hash                uint64 // pairHash of the two
}

// NewParser returns a Parser with the given options, copied.
func NewParser(opts Options) *Parser {
	return &Parser{opts: opts}
}

// Parse reads one exposition of format f from r and calls emit for each sample line,
// in order, unless Options.Keep skips it. A nil emit only checks and counts.
//
// emit gets a Sample that is reused: its strings may be kept, its Labels slice must be
// copied to be kept. An error from emit stops Parse and is returned as is.
//
// samples is the number of sample lines read, kept or skipped, as Prometheus'
// scrape_samples_scraped counts them. err is a *ParseError for a malformed exposition,
// wraps ErrSampleLimit when Options.SampleLimit is exceeded, and wraps the error of r
// when reading fails. Parse buffers one line at a time: bound the body in r (for
// example with io.LimitReader), since a line may be as long as the body.
func (p *Parser) Parse(r io.Reader, f Format, emit func(*Sample) error) (samples int, err error) {
	if f != FormatText && f != FormatOpenMetrics {
		return 0, fmt.Errorf("parse exposition: unknown format %s", f)
	}
	p.begin(r, f)
	defer p.end()
	for {
		line, ok := p.lr.next()
		if !ok {
			break
		}
		if p.eof {
			return p.samples, p.fail(line, "unexpected data after # EOF")
		}
		if err := p.parseLine(line, emit); err != nil {
			return p.samples, err
		}
	}
	if err := p.lr.readErr(); err != nil {
		return p.samples, fmt.Errorf("read exposition: line %d: %w", p.lr.line+1, err)
	}
	if f == FormatOpenMetrics && !p.eof {
		return p.samples, &ParseError{Line: p.lr.line + 1, Msg: "missing # EOF"}
	}
	return p.samples, nil
}

func (p *Parser) begin(r io.Reader, f Format) {
	if p.recent.seed == (maphash.Seed{}) {
		p.recent.seed = maphash.MakeSeed()
	}
	p.lr.reset(r)
	p.format = f
	p.samples = 0
	p.family, p.ftype = "", typeUnknown
	p.eof = false
	p.series.reset()
}

// end drops what the Parser must not keep: the reader, the last sample, and buffers
// grown by an outsized line.
func (p *Parser) end() {
	p.lr.release()
	p.sample = Sample{}
	if cap(p.labels) > maxRetainedLabels {
		p.labels, p.prev = nil, nil
	}
	if cap(p.names) > maxRetainedLabels {
		p.names = nil
	}
	if cap(p.scratch) > maxRetainedScratch {
		p.scratch = nil
	}
}

// parseLine parses one line: blank, comment, metadata or sample.
func (p *Parser) parseLine(line []byte, emit func(*Sample) error) error {
	i := skipBlanks(line, 0)
	switch {
	case i == len(line):
		return nil
	case line[i] == '#':
		return p.parseComment(line, i+1)
	default:
		return p.parseSample(line, i, emit)
	}
}

// parseComment parses the line after its '#' (at i-1): # HELP, # TYPE, # UNIT and
// # EOF set state, other comments are ignored. As in expfmt, a keyword without a name
// is a plain comment.
func (p *Parser) parseComment(line []byte, i int) error {
	j := skipBlanks(line, i)
	k := scanToken(line, j)
	keyword := unsafeString(line[j:k]) // used only while line is
	om := p.format == FormatOpenMetrics
	switch {
	case keyword == "HELP", keyword == "TYPE", keyword == "UNIT" && om:
	case keyword == "EOF" && om && skipBlanks(line, k) == len(line):
		p.eof = true
		return nil
	default:
		return nil
	}
	j = skipBlanks(line, k)
	if j == len(line) {
		return nil
	}
	name, k, err := p.metadataName(line, j)
	if err != nil {
		return err
	}
	if k < len(line) && !isBlank(line[k]) {
		return p.fail(line, "invalid metric name in comment")
	}
	text := trimBlanks(line[skipBlanks(line, k):])
	if string(name) != p.family {
		p.family, _ = p.recent.get(name, p.opts.Interner)
		p.ftype = typeUnknown
	}
	switch keyword {
	case "TYPE":
		if len(text) == 0 {
			return nil
		}
		t, ok := parseType(text, om)
		if !ok {
			return p.fail(line, fmt.Sprintf("unknown metric type %q", truncate(text, maxQuotedToken)))
		}
		p.ftype = t
	case "HELP", "UNIT":
		if !validUTF8(text) {
			return p.fail(line, "invalid UTF-8 in "+keyword)
		}
	}
	return nil
}

// metadataName reads the bare or quoted metric name of a metadata line at i.
func (p *Parser) metadataName(line []byte, i int) (name []byte, next int, err error) {
	if line[i] == '"' {
		name, next, err = p.quotedName(line, i+1, "metric name")
		return name, next, err
	}
	next = scanMetricName(line, i)
	if next == i {
		return nil, 0, p.fail(line, "invalid metric name in comment")
	}
	return line[i:next], next, nil
}

// quotedName reads a quoted metric or label name whose opening quote is at i-1: not
// empty, valid UTF-8. The result may be in p.scratch.
func (p *Parser) quotedName(line []byte, i int, what string) ([]byte, int, error) {
	name, next, scratch, msg := scanQuoted(line, i, p.scratch)
	p.scratch = scratch
	switch {
	case msg != "":
		return nil, 0, p.fail(line, msg+" in "+what)
	case len(name) == 0:
		return nil, 0, p.fail(line, "empty "+what)
	case !validUTF8(name):
		return nil, 0, p.fail(line, "invalid UTF-8 in "+what)
	}
	return name, next, nil
}

// fail returns a ParseError for the current line.
func (p *Parser) fail(line []byte, msg string) error {
	return &ParseError{Line: p.lr.line, Input: truncate(line, maxQuotedInput), Msg: msg}
}

// retained returns the bytes of buffers the Parser keeps between expositions, for tests.
func (p *Parser) retained() int {
	return p.lr.retained() + cap(p.labels)*32 + cap(p.prev)*56 + cap(p.scratch) + cap(p.names)*16 +
		p.series.retained() + p.recent.retained()
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
