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

	// Keep, when set, is called once per sample line with its name and family (before
	// the line's labels are parsed, unless its quoted name comes after a label). False
	// skips the sample: nothing of it is built (no strings, no labels) and emit is not
	// called, but the line is checked by the same rules as a kept one and counted, so
	// that whether Parse fails, how many samples it counts and how many repeats it drops
	// never depend on Keep. Nil keeps every sample.
	Keep func(name, family string) bool

	// Metadata, when set, is called with what the exposition says of each metric
	// family (# TYPE, # HELP, # UNIT), in exposition order: once the family's metadata
	// lines end, before its first sample line (or at the end of the exposition), for
	// every family whatever Keep says. A family whose metadata lines come in two blocks
	// is reported twice, the second time with everything known of it. Once Parse fails
	// it is not called again (past SampleLimit it is, to the end of the exposition, as
	// Prometheus' scrape cache takes metadata as the parse meets it); the calls made
	// before stand, to be discarded with the samples or not. Nil costs nothing: no help text is even unescaped.
	Metadata func(Metadata)

	// HashSeed seeds the hashes the Parser identifies series with (Sample.Hash): Parsers
	// given the same seed give a series the same Hash, so a caller can key what it keeps
	// per series by it across expositions and Parsers. Zero: a seed of the Parser's own.
	HashSeed maphash.Seed

	// SampleLimit, when positive, is the most sample lines an exposition may hold,
	// counting those Keep skips, so that a target fails or not whatever the caller asks
	// for, but not a repeat of a series without a timestamp of its own (Prometheus'
	// sample_limit counts the samples its scrape loop hands the storage, and it drops
	// that repeat before). One more makes Parse return an error wrapping
	// ErrSampleLimit, once it has read, checked and counted the rest of the exposition
	// without emitting it (as Prometheus parses on past its sample_limit, so that
	// scrape_samples_scraped says how many samples the target exposed); a malformed
	// line after the limit is the error instead. Zero or less means no limit.
	SampleLimit int
}

// Parser parses expositions into Samples. It keeps its buffers from one exposition to
// the next, so reuse one Parser rather than making one per exposition: a buffer for the
// longest line (64 KiB at least; one for a line over 1 MiB is dropped after use), 16 to
// 32 bytes per series of the largest exposition (twice that once an exposition's lines
// have timestamps of their own), a cache of recent strings (at most
// 352 KiB) and one of le and quantile values (at most 48 KiB).
//
// A Parser is not safe for concurrent use: give each goroutine its own. The zero value
// is a Parser with zero Options.
type Parser struct {
	opts Options
	lr   lineReader

	// The current exposition.
	format      Format
	samples     int     // sample lines seen
	overLimit   int     // the line of the first sample past Options.SampleLimit (0: none); the lines after it are only counted and checked
	duplicates  int     // sample lines dropped as repeats of an earlier series
	outOfBounds int     // sample lines dropped for a timestamp beyond int64 milliseconds
	stored      int     // sample lines counted against Options.SampleLimit
	repeats     int     // sample lines passed on as a repeat of an earlier series with a later timestamp of their own
	scrapeMs    int64   // SetScrapeTime's: the time of the samples without a timestamp of their own
	points      *Points // SetPoints'
	family      string  // the family named by the latest metadata line
	ftype       MetricType
	floatLabel  string // le or quantile when the latest # TYPE says histogram or summary
	eof         bool   // OpenMetrics # EOF seen
	series      seriesSet

	// Metadata not yet handed to Options.Metadata.
	meta        Metadata
	metaPending bool

	// What the exposition's metadata lines said so far of each family the current one
	// took over from (its type; its help and unit with Options.Metadata), so that a family
	// whose lines come in blocks resumes with them, as Prometheus' scrape cache keeps
	// each family's apart.
	said map[string]Metadata
	// The most families said has held since it was made (a Go map keeps that room), and
	// how many expositions in a row named far fewer: see settleSaid.
	saidPeak, saidOversized int

	// The metric name of the current sample when it is quoted among its labels.
	braceName     string
	braceNameHash uint64
	braceNamed    bool

	// The Memo of ParseMemo, and the positions in it of the current sample line and of
	// the current metadata line's family.
	memo       *Memo
	memoPos    int
	memoFamily int
	memoHelp   int
	lazySeries bool // series holds none of the lines found in memo so far (fillSeries)

	// The current sample, handed to emit.
	sample     Sample
	labels     []Label  // backs sample.Labels
	scratch    []byte   // unescaped quoted strings
	names      []string // label names, sorted to find a duplicate
	nameHashes []uint64 // label names' hashes, of a line checked but not built

	// Strings and their hashes: the previous sample's, as consecutive samples share
	// most of them and comparing bytes is cheapest, then recent ones.
	prevName     string
	prevNameHash uint64
	prev         []prevLabel // by label position
	recent       recentStrings
	floatLabels  floatLabels
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
// A sample line whose series (name and label set, in any order) appeared earlier in the
// exposition is dropped and counted (Duplicates returns the count), as Prometheus keeps
// the first and drops the repeat (counting it in
// prometheus_target_scrapes_sample_duplicate_timestamp_total), unless the repeat carries
// a timestamp of its own later than the series' latest sample so far (the scrape's time,
// SetScrapeTime, for one without): Prometheus stores that one as a further sample of the
// series, and so it is passed on, with Sample.Repeat set. A sample line whose OpenMetrics
// timestamp is beyond int64 milliseconds is dropped too, and counted by OutOfBounds.
//
// samples is the number of sample lines read, kept, skipped or dropped, as Prometheus'
// scrape_samples_scraped counts them: on a *ParseError, those before the line that
// failed; over Options.SampleLimit, every sample line of the exposition. An exposition of no bytes at all has no samples
// and is valid in either format (OpenMetrics' # EOF is required of any other). err is
// a *ParseError for a malformed exposition, wraps ErrSampleLimit when
// Options.SampleLimit is exceeded, and wraps the error of r when reading fails (as
// "line N: <r's error>", N the line being read). Parse
// buffers one line at a time: bound the body in r (for example with io.LimitReader),
// since a line may be as long as the body.
func (p *Parser) Parse(r io.Reader, f Format, emit func(*Sample) error) (samples int, err error) {
	if f != FormatText && f != FormatOpenMetrics {
		return 0, fmt.Errorf("parse exposition: unknown format %s", f)
	}
	p.begin(r, f)
	defer p.end()
	if pts := p.points; pts != nil {
		pts.begin()
		defer func() { pts.done(err == nil) }()
	}
	for {
		line, ok := p.lr.next()
		if !ok {
			break
		}
		if p.eof {
			return p.samples, p.fail(line, "unexpected data after # EOF")
		}
		before := p.samples
		if err := p.parseLine(line, emit); err != nil {
			if _, malformed := err.(*ParseError); malformed {
				return before, err // the lines before the one that broke, as textparse counts
			}
			return p.samples, err
		}
	}
	if err := p.lr.readErr(); err != nil {
		return p.samples, fmt.Errorf("line %d: %w", p.lr.line+1, err) // the caller says it was reading
	}
	// No byte at all is an empty exposition, which Prometheus' scrape loop takes for
	// an empty scrape before it picks a parser.
	if f == FormatOpenMetrics && !p.eof && p.lr.line > 0 {
		return p.samples, &ParseError{Line: p.lr.line + 1, Msg: "missing # EOF"}
	}
	p.flushMetadata() // the exposition was read whole, over SampleLimit too
	if p.overLimit > 0 {
		return p.samples, fmt.Errorf("line %d: %w: %d samples, more than the limit of %d",
			p.overLimit, ErrSampleLimit, p.stored, p.opts.SampleLimit)
	}
	return p.samples, nil
}

// SetScrapeTime sets, for the next Parse or ParseMemo, the time in milliseconds since
// the Unix epoch of the samples without a timestamp of their own (the scrape's): a
// repeat of such a series with a timestamp of its own is passed on only when later. It
// holds until the parse ends; zero, the default, is the epoch.
func (p *Parser) SetScrapeTime(ms int64) { p.scrapeMs = ms }

// SetPoints gives the next Parse or ParseMemo the Points of the exposition's target,
// which it marks Sample.Stored by and notes its series of several points in, for
// Points.Commit once its samples are stored (when the exposition parses whole). It
// holds until the parse ends; nil, the default, marks none.
func (p *Parser) SetPoints(pts *Points) { p.points = pts }

// Duplicates returns how many sample lines the latest Parse dropped because their series
// (name and label set, in any order) appeared earlier in the exposition; each was counted
// in Parse's samples. Lines skipped by Keep count too. The count is complete only when
// Parse returned no error. The zero Parser returns 0.
func (p *Parser) Duplicates() int { return p.duplicates }

// OutOfBounds returns how many sample lines the latest Parse dropped because their
// OpenMetrics timestamp, finite, is beyond what int64 milliseconds hold (1e300): textparse
// converts it regardless and Prometheus' TSDB refuses that one sample as out of bounds
// (prometheus_target_scrapes_sample_out_of_bounds_total), the scrape standing. Each was
// counted in Parse's samples, and a later line of its series is not a repeat. The count
// is complete only when Parse returned no error. The zero Parser returns 0.
func (p *Parser) OutOfBounds() int { return p.outOfBounds }

func (p *Parser) begin(r io.Reader, f Format) {
	if p.recent.seed == (maphash.Seed{}) {
		p.recent.seed = p.opts.HashSeed
		if p.recent.seed == (maphash.Seed{}) {
			p.recent.seed = maphash.MakeSeed()
		}
	}
	p.lr.reset(r)
	p.format = f
	p.samples, p.duplicates, p.outOfBounds, p.overLimit, p.repeats, p.stored = 0, 0, 0, 0, 0, 0
	p.family, p.ftype, p.floatLabel = "", TypeUnknown, ""
	p.eof = false
	p.series.reset()
	p.meta, p.metaPending = Metadata{}, false
	clear(p.said)
	p.braceName, p.braceNamed = "", false
}

// end drops what the Parser must not keep: the reader, the last sample, and buffers
// grown by an outsized line.
func (p *Parser) end() {
	p.lr.release()
	p.scrapeMs, p.points = 0, nil
	p.sample = Sample{}
	p.meta, p.metaPending = Metadata{}, false
	p.braceName = ""
	p.series.settle()
	p.settleSaid()
	if cap(p.labels) > maxRetainedLabels {
		p.labels, p.prev = nil, nil
	}
	if cap(p.names) > maxRetainedLabels {
		p.names = nil
	}
	if cap(p.nameHashes) > maxRetainedLabels {
		p.nameHashes = nil
	}
	if cap(p.scratch) > maxRetainedScratch {
		p.scratch = nil
	}
}

// settleSaid gives back the map of what the metadata lines said of each family once it
// has held more than eight times the families of seriesShrinkAfter expositions in a row
// (and more than minSaidRoom): as the series table (seriesSet.settle), one exposition
// naming 100,000 families (an exporter with an id in its metric names) would otherwise
// leave each Parser it went through holding 10 MiB for good.
func (p *Parser) settleSaid() {
	p.saidPeak = max(p.saidPeak, len(p.said))
	if p.saidPeak <= 8*len(p.said)+minSaidRoom {
		p.saidOversized = 0
		return
	}
	if p.saidOversized++; p.saidOversized >= seriesShrinkAfter {
		p.said, p.saidPeak, p.saidOversized = nil, 0, 0
	}
}

// minSaidRoom is the room for families a Parser keeps whatever its expositions name.
const minSaidRoom = 1024

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
// # EOF set state, other comments are ignored. As in textparse's lexer, the keyword
// counts only after a blank that follows the '#' (#TYPE is a comment, #\tTYPE is not).
// In the text format, as in expfmt, a keyword without a name is a plain comment, and
// the text starts one byte after the name, whatever that byte is (`# HELP a.b x` is
// a's help "b x", as textparse reads it); OpenMetrics requires the name and a blank
// after it (the text may be empty), as textparse does.
func (p *Parser) parseComment(line []byte, i int) error {
	if i == len(line) || !isBlank(line[i]) {
		return nil
	}
	j := skipBlanks(line, i)
	om := p.format == FormatOpenMetrics
	if om && len(line)-j >= 3 && string(line[j:j+3]) == "EOF" {
		if j+3 != len(line) {
			return p.fail(line, "unexpected data after # EOF")
		}
		p.eof = true
		return nil
	}
	k := scanToken(line, j)
	keyword := unsafeString(line[j:k]) // used only while line is
	switch {
	case keyword == "HELP", keyword == "TYPE", keyword == "UNIT" && om:
	default:
		return nil
	}
	j = skipBlanks(line, k)
	if j == len(line) {
		if om {
			return p.fail(line, "missing metric name in "+keyword)
		}
		return nil
	}
	name, k, err := p.metadataName(line, j)
	if err != nil {
		return err
	}
	if om && k < len(line) && !isBlank(line[k]) {
		return p.fail(line, "invalid metric name in comment")
	}
	if om && k == len(line) {
		return p.fail(line, "missing text in "+keyword)
	}
	if string(name) != p.family {
		p.enterFamily(name)
	}
	text := line[min(k+1, len(line)):] // after the name's next byte, as textparse has it
	t := TypeUnknown
	switch keyword {
	case "TYPE":
		typeText := trimBlanks(text[skipBlanks(text, 0):])
		if len(typeText) == 0 && !om {
			return nil
		}
		var ok bool
		if t, ok = parseType(typeText, om); !ok {
			return p.fail(line, fmt.Sprintf("unknown metric type %q", truncate(typeText, maxQuotedToken)))
		}
		p.ftype, p.floatLabel = t, floatLabelOf(t)
	case "HELP", "UNIT":
		if !validUTF8(text) {
			return p.fail(line, "invalid UTF-8 in "+keyword)
		}
		if keyword == "UNIT" {
			if err := p.checkUnit(line, trimBlanks(text[skipBlanks(text, 0):])); err != nil {
				return err
			}
		}
	}
	if p.opts.Metadata != nil && p.family != "" && validUTF8(name) {
		p.noteMetadata(keyword, t, text)
	}
	return nil
}

// enterFamily makes name the current family, of the type its earlier # TYPE gave it, if
// any, and keeps what was said of the family it leaves.
func (p *Parser) enterFamily(name []byte) {
	if p.family != "" {
		m := Metadata{Family: p.family, Type: p.ftype}
		if p.meta.Family == p.family {
			m.Help, m.Unit = p.meta.Help, p.meta.Unit
		}
		if p.said == nil {
			p.said = map[string]Metadata{}
		}
		p.said[p.family] = m
	}
	p.family = p.familyName(name)
	p.ftype = p.said[p.family].Type
}

// checkUnit requires a non-empty unit to be a suffix of the family's name after an
// underscore (x_seconds for seconds), as OpenMetrics and textparse do.
func (p *Parser) checkUnit(line, unit []byte) error {
	f := p.family
	if len(unit) == 0 || len(f) > len(unit) && f[len(f)-len(unit)-1] == '_' && f[len(f)-len(unit):] == string(unit) {
		return nil
	}
	return p.fail(line, fmt.Sprintf("unit %q is not a suffix of metric name %q",
		truncate(unit, maxQuotedToken), truncate([]byte(f), maxQuotedToken)))
}

// metadataName reads the bare or quoted metric name of a metadata line at i. A quoted
// name may be empty or invalid UTF-8, as textparse reads it: no sample can be of that
// family, but its # TYPE sets how le and quantile are stored all the same. The result
// may be in p.scratch.
func (p *Parser) metadataName(line []byte, i int) (name []byte, next int, err error) {
	if line[i] == '"' {
		var msg string
		if name, next, p.scratch, msg = scanQuoted(line, i+1, p.scratch); msg != "" {
			return nil, 0, p.fail(line, msg+" in metric name")
		}
		return name, next, nil
	}
	next = scanMetricName(line, i)
	if next == i {
		return nil, 0, p.fail(line, "invalid metric name in comment")
	}
	return line[i:next], next, nil
}

// checkName requires the unescaped content of a quoted metric or label name to be
// non-empty, valid UTF-8.
func (p *Parser) checkName(line, name []byte, what string) error {
	switch {
	case len(name) == 0:
		return p.fail(line, "empty "+what)
	case !validUTF8(name):
		return p.fail(line, "invalid UTF-8 in "+what)
	}
	return nil
}

// fail returns a ParseError for the current line.
func (p *Parser) fail(line []byte, msg string) error {
	return &ParseError{Line: p.lr.line, Input: truncate(line, maxQuotedInput), Msg: msg}
}

// retained returns the bytes of buffers the Parser keeps between expositions, for tests.
func (p *Parser) retained() int {
	return p.lr.retained() + cap(p.labels)*32 + cap(p.prev)*56 + cap(p.scratch) + cap(p.names)*16 +
		cap(p.nameHashes)*8 + p.series.retained() + p.recent.retained() + p.floatLabels.retained()
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
