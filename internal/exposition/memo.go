package exposition

import (
	"hash/maphash"
	"io"
)

// Memo is what a Parser remembers of one target's previous exposition, so that the
// target's next one costs less to parse: per sample line, by position, the hash of its
// series part (the name and label set, byte for byte), which label the latest # TYPE
// had rewritten as a float (a histogram's le, a summary's quantile, or none), and what
// parsing it gave (name and series hash). A sample line whose series part hashes the
// same, under the same rewritten label, as the line at its position last time is not
// parsed again: only its value and timestamp are, and its family is found as for any
// line. Each line also has a slot the caller keeps its own handle on the series in
// (Sample.Slot). The Memo also keeps, in order, the family names the metadata lines
// (# HELP, # TYPE) named: one naming the family its predecessor at that point named
// takes the string kept, without a lookup.
//
// Trusting the 64-bit hash of the series part's bytes, rather than comparing the bytes,
// is the trade-off the Parser already makes to tell series apart (Sample.Hash).
//
// Give each target its own Memo and pass it to every ParseMemo of that target. The zero
// value is an empty Memo. A Memo is not safe for concurrent use.
type Memo struct {
	format   Format
	lines    []memoLine
	families []string   // each family a metadata line named, in order (Parser.familyName)
	helps    []memoHelp // each # HELP text, in order (Parser.helpText)
	distinct bool       // no two lines have one series: the exposition repeated none
}

// memoLine is one sample line of the previous exposition.
type memoLine struct {
	rawHash  uint64 // of the series part's bytes
	rawLen   int32  // the series part's length
	braces   bool   // the series part ends with its label set's '}'
	float    uint8  // the label rewritten as a float when the line was read (floatLabelCode)
	name     string
	nameHash uint64
	hash     uint64 // the series hash (Sample.Hash)
	slot     any    // the caller's (Sample.Slot)
}

// memoHelp is one # HELP line's text of the previous exposition: the hash of its bytes
// as exposed, and the text unescaped and interned.
type memoHelp struct {
	rawHash uint64
	help    string
}

// minMemoRoom is the room for lines a Memo keeps whatever its exposition's size; past it,
// a Memo holding more than four times the room its lines take gives it back.
const minMemoRoom = 1024

// shrink gives back the room of m's lines past four times what they take: a target that
// exposed 100,000 lines once and then 10 would hold 100,000 lines' room (64 bytes each)
// for as long as it lived; and so of its families' (16 bytes each).
func (m *Memo) shrink() {
	if cap(m.lines) > 4*len(m.lines)+minMemoRoom {
		m.lines = append([]memoLine(nil), m.lines...)
	}
	if cap(m.families) > 4*len(m.families)+minMemoRoom {
		m.families = append([]string(nil), m.families...)
	}
	if cap(m.helps) > 4*len(m.helps)+minMemoRoom {
		m.helps = append([]memoHelp(nil), m.helps...)
	}
}

// Reset empties the Memo: the next ParseMemo parses every line.
func (m *Memo) Reset() {
	clear(m.lines)
	m.lines = m.lines[:0]
	clear(m.families)
	m.families = m.families[:0]
	clear(m.helps)
	m.helps = m.helps[:0]
	m.shrink()
	m.distinct = false
}

// ParseMemo is Parse with the Memo of the exposition's target: every emitted Sample has
// a Slot, and a line found unchanged since the Memo's previous exposition, whose slot the
// caller filled then, comes Memoized, with that slot and nil Labels: it was not parsed
// again. A caller that fills no slot gets every line parsed, as from Parse. When
// ParseMemo fails the Memo is emptied.
func (p *Parser) ParseMemo(r io.Reader, f Format, m *Memo, emit func(*Sample) error) (samples int, err error) {
	if m.format != f {
		// A series part reads the same in both formats today (only a family's suffixes
		// and the timestamp's unit differ, and both are read anew); a memo of the other
		// format is dropped all the same rather than trusted to stay so.
		m.Reset()
		m.format = f
	}
	p.memo, p.memoPos, p.memoFamily, p.memoHelp = m, 0, 0, 0
	// Lines found in a Memo of distinct lines are distinct: the series set is filled
	// only once a line is not (fillSeries).
	p.lazySeries = m.distinct
	defer func() { p.memo, p.lazySeries = nil, false }()
	samples, err = p.Parse(r, f, emit)
	if err != nil {
		m.Reset()
		return samples, err
	}
	clear(m.lines[p.memoPos:])
	m.lines = m.lines[:p.memoPos]
	clear(m.families[p.memoFamily:])
	m.families = m.families[:p.memoFamily]
	clear(m.helps[p.memoHelp:])
	m.helps = m.helps[:p.memoHelp]
	m.shrink()
	// A line dropped for its timestamp may share its series with a line kept.
	m.distinct = p.duplicates == 0 && p.outOfBounds == 0 && p.repeats == 0
	return samples, nil
}

// fillSeries adds to the series set the series of the lines before the current one, all
// found in the Memo while it was not filled (lazySeries), and fills it from then on.
func (p *Parser) fillSeries() {
	for i := range p.memoPos - 1 {
		p.series.add(p.memo.lines[i].hash)
	}
	p.lazySeries = false
}

// familyName returns the string of name, the family a metadata line names: with a Memo,
// the one kept when the previous exposition named the same family at this point (one
// comparison, with strings its other targets share), else from the Parser's cache.
func (p *Parser) familyName(name []byte) string {
	m := p.memo
	if m == nil {
		s, _ := p.recent.get(name, p.opts.Interner)
		return s
	}
	i := p.memoFamily
	p.memoFamily++
	if i < len(m.families) && m.families[i] == string(name) {
		return m.families[i]
	}
	s, _ := p.recent.get(name, p.opts.Interner)
	if i < len(m.families) {
		m.families[i] = s
	} else {
		m.families = append(m.families, s)
	}
	return s
}

// helpText returns the # HELP text b (the rest of the line after the name's blank)
// unescaped (appendHelp) and interned: with a Memo, the one kept when the previous
// exposition's # HELP line at this point had the same bytes (a hash of them, trusted as
// a sample line's series part is), else anew. An exposition's help texts rarely change,
// and unescaping and interning them was about 2 % of serve's CPU.
func (p *Parser) helpText(b []byte) string {
	m := p.memo
	if m == nil {
		p.scratch = appendHelp(p.scratch[:0], b, p.format == FormatOpenMetrics)
		return p.opts.Interner.Intern(p.scratch)
	}
	i := p.memoHelp
	p.memoHelp++
	h := maphash.Bytes(p.recent.seed, b)
	if i < len(m.helps) && m.helps[i].rawHash == h {
		return m.helps[i].help
	}
	p.scratch = appendHelp(p.scratch[:0], b, p.format == FormatOpenMetrics)
	help := p.opts.Interner.Intern(p.scratch)
	if i < len(m.helps) {
		m.helps[i] = memoHelp{rawHash: h, help: help}
	} else {
		m.helps = append(m.helps, memoHelp{rawHash: h, help: help})
	}
	return help
}

// memoLine returns the Memo's line for the current sample line and moves to the next:
// the previous exposition's line at this position, or a new empty one.
func (p *Parser) memoLine() *memoLine {
	m := p.memo
	if p.memoPos == len(m.lines) {
		m.lines = append(m.lines, memoLine{})
	}
	l := &m.lines[p.memoPos]
	p.memoPos++
	return l
}

// memoHit reports whether the sample line at i has the series part of l, read with the
// same label rewritten as a float, and l's slot was filled; next is then where the value
// starts.
//
// The rewritten label, not the # TYPE: a # HELP or # UNIT of another family resets the
// type but leaves the label rewritten (as textparse does), and the type changes nothing
// else of the series part (the family is found anew for every line).
func (p *Parser) memoHit(l *memoLine, line []byte, i int) (next int, ok bool) {
	end := i + int(l.rawLen)
	if l.rawLen == 0 || l.slot == nil || end >= len(line) || !isBlank(line[end]) || l.float != floatLabelCode(p.floatLabel) {
		return 0, false
	}
	if !l.braces {
		// A bare name then blanks: labels may follow them.
		if j := skipBlanks(line, end); j < len(line) && line[j] == '{' {
			return 0, false
		}
	}
	if maphash.Bytes(p.recent.seed, line[i:end]) != l.rawHash {
		return 0, false
	}
	return end, true
}

// memoRecord makes l the line just parsed: its series part line[i:end], its name and
// series hash, read with the current label rewritten as a float, with an empty slot.
func (p *Parser) memoRecord(l *memoLine, line []byte, i, end int, braces bool, name string, nameHash, hash uint64) {
	*l = memoLine{
		rawHash:  maphash.Bytes(p.recent.seed, line[i:end]),
		rawLen:   int32(end - i),
		braces:   braces,
		float:    floatLabelCode(p.floatLabel),
		name:     name,
		nameHash: nameHash,
		hash:     hash,
	}
}

// parseMemoized finishes a sample line found in the Memo (l), from its value at j: it
// is counted, checked for a repeat and emitted as parsing it would, with l's name and
// series hash, nil Labels and l's slot.
func (p *Parser) parseMemoized(l *memoLine, line []byte, j int, emit func(*Sample) error) error {
	family, keep, err := p.countSample(l.name, l.nameHash)
	if err != nil {
		return err
	}
	value, ts, hasTS, outOfBounds, err := p.parseValueAndTimestamp(line, j, !validUTF8(line[j:]))
	if err != nil {
		return err
	}
	if outOfBounds {
		if p.lazySeries {
			p.fillSeries() // the lines before, not this one: as parseSample
		}
		p.outOfBounds++
		p.overSampleLimit()
		return nil
	}
	if hasTS && p.lazySeries {
		// The series' times start here: a later repeat compares with this one's.
		p.fillSeries()
	}
	isNew, pass, stored := true, true, false
	if !p.lazySeries {
		isNew, pass, stored = p.seeSeries(l.hash, ts, hasTS)
	}
	if (isNew || hasTS) && p.overSampleLimit() || !pass {
		return nil
	}
	if !keep || emit == nil {
		return nil
	}
	p.sample = Sample{
		Name:         l.name,
		Family:       family,
		Value:        value,
		TimestampMs:  ts,
		HasTimestamp: hasTS,
		Hash:         l.hash,
		Slot:         &l.slot,
		Memoized:     true,
		Repeat:       !isNew,
		Stored:       stored,
	}
	return emit(&p.sample)
}

// floatLabelCode is a floatLabelOf label in a byte, so that a memo line stays small.
func floatLabelCode(label string) uint8 {
	switch label {
	case "le":
		return 1
	case "quantile":
		return 2
	}
	return 0
}
