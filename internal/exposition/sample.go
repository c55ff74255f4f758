package exposition

import (
	"fmt"
	"math"
	"strconv"
)

// parseSample parses the sample line whose first non-blank byte is at i. A line that
// Keep skips is checked by the same rules as one it keeps, and its series is recorded, but
// nothing of it is built: no strings but its name, no labels.
func (p *Parser) parseSample(line []byte, i int, emit func(*Sample) error) error {
	if p.metaPending {
		p.flushMetadata()
	}
	var ml *memoLine
	if p.memo != nil {
		ml = p.memoLine()
		if j, ok := p.memoHit(ml, line, i); ok {
			return p.parseMemoized(ml, line, j, emit)
		}
	}
	nameB, j, err := p.sampleName(line, i)
	if err != nil {
		return err
	}
	// j is after the name: at its label set's '{' or at the value for a bare name; inside
	// the braces after a quoted first name and its ',' (inBraces); after the '{' when the
	// name is quoted further on in the braces (nameB is nil).
	inBraces := line[i] == '{'

	// A line of valid UTF-8 has valid UTF-8 between any two of its ASCII delimiters, so
	// one pass over the line spares checking each label.
	checkUTF8 := !validUTF8(line[j:])

	var name, family string
	var nameHash uint64
	build := true // a line whose name is known only after its labels is built, then kept or not
	if nameB != nil {
		name, nameHash = p.name(nameB)
		if family, build, err = p.countSample(name, nameHash); err != nil {
			return err
		}
	}

	seriesHash := uint64(0)
	n := 0
	rawEnd := j // the series part's end: after the name, or after the label set
	if !inBraces {
		j = skipBlanks(line, j)
		if j < len(line) && line[j] == '{' {
			inBraces = true
			j++
		}
	}
	if inBraces {
		var h uint64
		if n, j, h, err = p.parseLabels(line, j, checkUTF8, build, nameB != nil); err != nil {
			return err
		}
		seriesHash += h
		rawEnd = j
	}
	if nameB == nil {
		if !p.braceNamed {
			return p.fail(line, "missing metric name")
		}
		name, nameHash = p.braceName, p.braceNameHash
		if family, build, err = p.countSample(name, nameHash); err != nil {
			return err
		}
	}
	seriesHash += nameHash

	value, ts, hasTS, outOfBounds, err := p.parseValueAndTimestamp(line, j, checkUTF8)
	if err != nil {
		return err
	}
	var slot *any
	if ml != nil {
		p.memoRecord(ml, line, i, rawEnd, inBraces, name, nameHash, seriesHash)
		slot = &ml.slot
	}
	if p.lazySeries {
		p.fillSeries()
	}
	if outOfBounds {
		// Not a series seen: a repeat with a timestamp the TSDB takes is kept, as
		// Prometheus' scrape cache learns a series only from a sample stored.
		p.outOfBounds++
		p.overSampleLimit()
		return nil
	}
	isNew, pass, stored := p.seeSeries(seriesHash, ts, hasTS)
	if (isNew || hasTS) && p.overSampleLimit() || !pass {
		return nil
	}
	if !build || emit == nil {
		return nil
	}
	p.sample = Sample{
		Name:         name,
		Family:       family,
		Labels:       p.labels[:n],
		Value:        value,
		TimestampMs:  ts,
		HasTimestamp: hasTS,
		Hash:         seriesHash,
		Slot:         slot,
		Repeat:       !isNew,
		Stored:       stored,
	}
	return emit(&p.sample)
}

// seeSeries records the series of a sample line and reports whether the series is new
// and whether to pass the line on. The first sample of a series stands, as in
// Prometheus: a repeat is dropped and counted (Duplicates), unless it carries a timestamp
// of its own later than the series' latest so far (the scrape's time, SetScrapeTime, for
// a sample without one): Prometheus' scrape loop drops a repeat only when it has no
// timestamp, and its TSDB stores a later sample and refuses any other.
//
// With SetPoints, it also reports whether the target's previous exposition gave the
// series a point at or after ts (stored), and notes the series' latest time when it has
// several points (or had: see Points).
func (p *Parser) seeSeries(hash uint64, ts int64, hasTS bool) (isNew, pass, stored bool) {
	var latest int64
	isNew, pass, latest = p.series.addAtLatest(hash, ts, hasTS, p.scrapeMs)
	switch {
	case !pass:
		p.duplicates++
	case !isNew:
		p.repeats++
	}
	if pts := p.points; pts != nil && hasTS {
		last, known := pts.latest[hash]
		if known || !isNew {
			pts.note(hash, latest)
		}
		stored = known && pass && ts <= last
	}
	return isNew, pass, stored
}

// overSampleLimit counts a sample line that Prometheus' scrape loop would hand its
// storage (all but a repeat without a timestamp of its own, which it drops before) against
// Options.SampleLimit, and reports whether it is over it: the first such line's error is
// kept for Parse's error at the end, and no line is emitted from there on.
func (p *Parser) overSampleLimit() bool {
	p.stored++
	limit := p.opts.SampleLimit
	if limit <= 0 || p.stored <= limit {
		return p.overLimit > 0
	}
	if p.overLimit == 0 {
		p.overLimit = p.lr.line
	}
	return true
}

// countSample counts the sample line named name and returns its family and whether
// Options.Keep keeps it.
func (p *Parser) countSample(name string, nameHash uint64) (family string, keep bool, err error) {
	family = p.familyOf(name)
	p.samples++
	p.prevName, p.prevNameHash = name, nameHash
	return family, p.opts.Keep == nil || p.opts.Keep(name, family), nil
}

// sampleName reads the name of the sample line at i: bare, or quoted as the first item
// of the braces. next is after the name, and after its ',' when quoted (or at '}'). When
// the braces do not start with a quoted name, name is nil and next is after the '{':
// the name, if any, is quoted among the labels.
func (p *Parser) sampleName(line []byte, i int) (name []byte, next int, err error) {
	if line[i] != '{' {
		next = scanMetricName(line, i)
		if next == i {
			return nil, 0, p.fail(line, "invalid metric name") // the error quotes the line
		}
		return line[i:next], next, nil
	}
	j := skipBlanks(line, i+1)
	if j == len(line) || line[j] != '"' {
		return nil, i + 1, nil
	}
	name, j, scratch, msg := scanQuoted(line, j+1, p.scratch)
	p.scratch = scratch
	if msg != "" {
		return nil, 0, p.fail(line, msg+" in metric name")
	}
	// A quoted string followed by ',' or '}' is the name; by '=', a label's name.
	switch j = skipBlanks(line, j); {
	case j < len(line) && line[j] == ',':
		next = j + 1
	case j < len(line) && line[j] == '}':
		next = j
	default:
		return nil, i + 1, nil
	}
	if err := p.checkName(line, name, "metric name"); err != nil {
		return nil, 0, err
	}
	return name, next, nil
}

// name returns the string of a metric name and its hash, the previous sample's when
// the same.
func (p *Parser) name(b []byte) (string, uint64) {
	if string(b) == p.prevName {
		return p.prevName, p.prevNameHash
	}
	return p.recent.get(b, p.opts.Interner)
}

// parseValueAndTimestamp parses the rest of a sample line from i: the value, the
// optional timestamp, and in OpenMetrics the optional exemplar. outOfBounds says the
// line is well formed but its OpenMetrics timestamp is beyond int64 milliseconds: the
// sample is to be dropped (see Parser.OutOfBounds).
func (p *Parser) parseValueAndTimestamp(line []byte, i int, checkUTF8 bool) (value float64, ts int64, hasTS, outOfBounds bool, err error) {
	j := skipBlanks(line, i)
	k := scanToken(line, j)
	if k == j {
		return 0, 0, false, false, p.fail(line, "missing value")
	}
	value, ok := parseFloat(line[j:k])
	if !ok {
		return 0, 0, false, false, p.fail(line, fmt.Sprintf("invalid value %q", truncate(line[j:k], maxQuotedToken)))
	}
	om := p.format == FormatOpenMetrics
	j = skipBlanks(line, k)
	if j == len(line) {
		return value, 0, false, false, nil
	}
	if om && line[j] == '#' {
		return value, 0, false, false, p.checkExemplar(line, j, checkUTF8)
	}
	k = scanToken(line, j)
	tsB := line[j:k]
	inBounds := true
	if om {
		ts, ok, inBounds = parseSeconds(tsB)
	} else {
		ts, err = strconv.ParseInt(unsafeString(tsB), 10, 64)
		ok = err == nil
	}
	if !ok {
		return 0, 0, false, false, p.fail(line, fmt.Sprintf("invalid timestamp %q", truncate(tsB, maxQuotedToken)))
	}
	j = skipBlanks(line, k)
	switch {
	case j == len(line):
		return value, ts, true, !inBounds, nil
	case om && line[j] == '#':
		return value, ts, true, !inBounds, p.checkExemplar(line, j, checkUTF8)
	}
	return 0, 0, false, false, p.fail(line, fmt.Sprintf("unexpected text after timestamp: %q", truncate(line[j:], maxQuotedToken)))
}

// parseSeconds converts an OpenMetrics timestamp in seconds to milliseconds, truncated
// toward zero as Prometheus does. ok is false where textparse fails the exposition: not
// a float, NaN or ±Inf. inBounds is false for a finite timestamp whose milliseconds an
// int64 cannot hold (ms is then 0): textparse converts it regardless (to math.MinInt64 on
// amd64), and Prometheus' TSDB refuses that sample as out of bounds.
func parseSeconds(b []byte) (ms int64, ok, inBounds bool) {
	s, ok := parseFloat(b)
	if !ok || math.IsNaN(s) || math.IsInf(s, 0) {
		return 0, false, false
	}
	f := s * 1000
	// Outside ±2^63 a conversion to int64 is undefined.
	if !(f > -(1<<63) && f < 1<<63) {
		return 0, true, false
	}
	return int64(f), true, true
}
