package exposition

import (
	"fmt"
	"slices"
	"strconv"
)

// maxPairwiseLabels is the most labels checked for duplicate names pair by pair; more
// are sorted, so that a line with a great many labels costs n log n, not n².
const maxPairwiseLabels = 8

// parseSample parses the sample line whose first non-blank byte is at i.
func (p *Parser) parseSample(line []byte, i int, emit func(*Sample) error) error {
	nameB, j, err := p.sampleName(line, i)
	if err != nil {
		return err
	}
	// j is after the name: at its label set's '{', or inside the braces after a quoted
	// name and its ',' (inBraces), or at the value.
	inBraces := line[i] == '{'

	name, nameHash := p.name(nameB)
	family := p.familyOf(name)
	p.samples++
	if limit := p.opts.SampleLimit; limit > 0 && p.samples > limit {
		return fmt.Errorf("line %d: %w: more than %d samples", p.lr.line, ErrSampleLimit, limit)
	}
	p.prevName, p.prevNameHash = name, nameHash
	if p.opts.Keep != nil && !p.opts.Keep(name, family) {
		return nil
	}

	// A line of valid UTF-8 has valid UTF-8 between any two of its ASCII delimiters, so
	// one pass over the line spares checking each label.
	checkUTF8 := !validUTF8(line[j:])

	seriesHash := nameHash
	n := 0
	if !inBraces {
		j = skipBlanks(line, j)
		if j < len(line) && line[j] == '{' {
			inBraces = true
			j++
		}
	}
	if inBraces {
		var h uint64
		if n, j, h, err = p.parseLabels(line, j, checkUTF8); err != nil {
			return err
		}
		seriesHash += h
	}

	value, ts, hasTS, err := p.parseValueAndTimestamp(line, j, checkUTF8)
	if err != nil {
		return err
	}
	if !p.series.add(seriesHash) {
		return p.fail(line, "duplicate series")
	}
	p.sample = Sample{
		Name:         name,
		Family:       family,
		Labels:       p.labels[:n],
		Value:        value,
		TimestampMs:  ts,
		HasTimestamp: hasTS,
	}
	if emit == nil {
		return nil
	}
	return emit(&p.sample)
}

// sampleName reads the name of the sample line at i: bare, or quoted as the first item
// of the braces. next is after the name, and after its ',' when quoted (or at '}').
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
		return nil, 0, p.fail(line, "missing metric name")
	}
	if name, j, err = p.quotedName(line, j+1, "metric name"); err != nil {
		return nil, 0, err
	}
	j = skipBlanks(line, j)
	switch {
	case j < len(line) && line[j] == ',':
		return name, j + 1, nil
	case j < len(line) && line[j] == '}':
		return name, j, nil
	}
	return nil, 0, p.fail(line, "missing metric name")
}

// name returns the string of a metric name and its hash, the previous sample's when
// the same.
func (p *Parser) name(b []byte) (string, uint64) {
	if string(b) == p.prevName {
		return p.prevName, p.prevNameHash
	}
	return p.recent.get(b, p.opts.Interner)
}

// parseLabels parses the labels after the '{' at i-1 into p.labels up to and including
// the '}'. It returns their number, the index after the '}', and the sum of their pair
// hashes.
func (p *Parser) parseLabels(line []byte, i int, checkUTF8 bool) (n, next int, sum uint64, err error) {
	j := i
	for {
		j = skipBlanks(line, j)
		if j == len(line) {
			return 0, 0, 0, p.fail(line, "unterminated label set")
		}
		if line[j] == '}' {
			j++
			break
		}

		var nameB []byte
		if line[j] == '"' {
			if nameB, j, err = p.quotedName(line, j+1, "label name"); err != nil {
				return 0, 0, 0, err
			}
		} else {
			k := scanLabelName(line, j)
			if k == j {
				return 0, 0, 0, p.fail(line, fmt.Sprintf("invalid label name at %q", truncate(line[j:], maxQuotedToken)))
			}
			nameB, j = line[j:k], k
		}
		if string(nameB) == "__name__" {
			return 0, 0, 0, p.fail(line, `label name "__name__" is reserved`)
		}
		// The name becomes a string now, before the value's unescaping reuses
		// p.scratch. Any entry of p.prev is a consistent name, value and hashes,
		// whichever sample left it, so comparing with it is always safe.
		var prev *prevLabel
		if n < len(p.prev) {
			prev = &p.prev[n]
		}
		var name string
		var nameHash uint64
		sameName := prev != nil && prev.name == string(nameB)
		if sameName {
			name, nameHash = prev.name, prev.nameHash
		} else {
			name, nameHash = p.recent.get(nameB, p.opts.Interner)
		}

		j = skipBlanks(line, j)
		if j == len(line) || line[j] != '=' {
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected '=' after label name %q", truncate(nameB, maxQuotedToken)))
		}
		j = skipBlanks(line, j+1)
		if j == len(line) || line[j] != '"' {
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected quoted value for label %q", name))
		}
		valueB, k, scratch, msg := scanQuoted(line, j+1, p.scratch)
		p.scratch = scratch
		switch {
		case msg == msgUnterminated:
			return 0, 0, 0, p.fail(line, "unterminated label value")
		case msg != "":
			return 0, 0, 0, p.fail(line, msg+" in label value")
		case checkUTF8 && !validUTF8(valueB):
			return 0, 0, 0, p.fail(line, "invalid UTF-8 in label value")
		}
		j = k

		var value string
		var valueHash, h uint64
		switch {
		case prev != nil && prev.value == string(valueB):
			value, valueHash = prev.value, prev.valueHash
			if sameName {
				h = prev.hash
			} else {
				h = pairHash(nameHash, valueHash)
			}
		default:
			value, valueHash = p.recent.get(valueB, p.opts.Interner)
			h = pairHash(nameHash, valueHash)
		}
		switch {
		case prev == nil:
			p.prev = append(p.prev, prevLabel{name: name, value: value, nameHash: nameHash, valueHash: valueHash, hash: h})
		case prev.hash != h:
			// Field by field, and only on change: most labels repeat the previous
			// sample's, and a whole-struct copy costs a typed memmove.
			if !sameName {
				prev.name, prev.nameHash = name, nameHash
			}
			prev.value, prev.valueHash, prev.hash = value, valueHash, h
		}
		if n < len(p.labels) {
			p.labels[n] = Label{Name: name, Value: value}
		} else {
			p.labels = append(p.labels, Label{Name: name, Value: value})
		}
		n++
		sum += h

		j = skipBlanks(line, j)
		switch {
		case j == len(line):
			return 0, 0, 0, p.fail(line, "unterminated label set")
		case line[j] == ',':
			j++
		case line[j] != '}':
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected ',' or '}' after label value, found %q", line[j]))
		}
	}
	if dup, ok := p.duplicateName(p.labels[:n]); ok {
		return 0, 0, 0, p.fail(line, fmt.Sprintf("duplicate label %q", dup))
	}
	return n, j, sum, nil
}

// duplicateName returns a label name that occurs twice in labels, if any.
func (p *Parser) duplicateName(labels []Label) (string, bool) {
	if len(labels) <= maxPairwiseLabels {
		for i := 1; i < len(labels); i++ {
			for k := range i {
				if labels[i].Name == labels[k].Name {
					return labels[i].Name, true
				}
			}
		}
		return "", false
	}
	names := p.names[:0]
	for _, l := range labels {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	p.names = names
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return names[i], true
		}
	}
	return "", false
}

// parseValueAndTimestamp parses the rest of a sample line from i: the value, the
// optional timestamp, and in OpenMetrics the optional exemplar.
func (p *Parser) parseValueAndTimestamp(line []byte, i int, checkUTF8 bool) (value float64, ts int64, hasTS bool, err error) {
	j := skipBlanks(line, i)
	k := scanToken(line, j)
	if k == j {
		return 0, 0, false, p.fail(line, "missing value")
	}
	value, ok := parseFloat(line[j:k])
	if !ok {
		return 0, 0, false, p.fail(line, fmt.Sprintf("invalid value %q", truncate(line[j:k], maxQuotedToken)))
	}
	om := p.format == FormatOpenMetrics
	j = skipBlanks(line, k)
	if j == len(line) {
		return value, 0, false, nil
	}
	if om && line[j] == '#' {
		return value, 0, false, p.checkExemplar(line, j, checkUTF8)
	}
	k = scanToken(line, j)
	tsB := line[j:k]
	if om {
		ts, ok = parseSeconds(tsB)
	} else {
		ts, err = strconv.ParseInt(unsafeString(tsB), 10, 64)
		ok = err == nil
	}
	if !ok {
		return 0, 0, false, p.fail(line, fmt.Sprintf("invalid timestamp %q", truncate(tsB, maxQuotedToken)))
	}
	j = skipBlanks(line, k)
	switch {
	case j == len(line):
		return value, ts, true, nil
	case om && line[j] == '#':
		return value, ts, true, p.checkExemplar(line, j, checkUTF8)
	}
	return 0, 0, false, p.fail(line, fmt.Sprintf("unexpected text after timestamp: %q", truncate(line[j:], maxQuotedToken)))
}

// parseSeconds converts an OpenMetrics timestamp in seconds to milliseconds, truncated
// toward zero as Prometheus does.
func parseSeconds(b []byte) (int64, bool) {
	s, ok := parseFloat(b)
	ms := s * 1000
	// Outside ±2^63 a conversion to int64 is undefined; NaN fails the comparisons.
	if !ok || !(ms > -(1<<63) && ms < 1<<63) {
		return 0, false
	}
	return int64(ms), true
}

// checkExemplar checks the OpenMetrics exemplar at line[i] == '#' — # {labels} value
// [timestamp] — which the Parser drops.
func (p *Parser) checkExemplar(line []byte, i int, checkUTF8 bool) error {
	invalid := func(what string) error {
		return p.fail(line, "invalid exemplar: "+what)
	}
	j := skipBlanks(line, i+1)
	if j == len(line) || line[j] != '{' {
		return invalid("want # {labels} value [timestamp]")
	}
	for j++; ; {
		j = skipBlanks(line, j)
		if j == len(line) {
			return invalid("unterminated label set")
		}
		if line[j] == '}' {
			j++
			break
		}
		if line[j] == '"' {
			var err error
			if _, j, err = p.quotedName(line, j+1, "exemplar label name"); err != nil {
				return err
			}
		} else {
			k := scanLabelName(line, j)
			if k == j {
				return invalid("bad label name")
			}
			j = k
		}
		j = skipBlanks(line, j)
		if j == len(line) || line[j] != '=' {
			return invalid("want '=' after label name")
		}
		j = skipBlanks(line, j+1)
		if j == len(line) || line[j] != '"' {
			return invalid("want quoted label value")
		}
		valueB, k, scratch, msg := scanQuoted(line, j+1, p.scratch)
		p.scratch = scratch
		switch {
		case msg != "":
			return invalid(msg)
		case checkUTF8 && !validUTF8(valueB):
			return invalid("invalid UTF-8 in label value")
		}
		j = skipBlanks(line, k)
		switch {
		case j == len(line):
			return invalid("unterminated label set")
		case line[j] == ',':
			j++
		case line[j] != '}':
			return invalid("want ',' or '}' after label value")
		}
	}
	j = skipBlanks(line, j)
	k := scanToken(line, j)
	if _, ok := parseFloat(line[j:k]); !ok {
		return invalid("bad value")
	}
	if j = skipBlanks(line, k); j == len(line) {
		return nil
	}
	k = scanToken(line, j)
	if _, ok := parseSeconds(line[j:k]); !ok {
		return invalid("bad timestamp")
	}
	if skipBlanks(line, k) != len(line) {
		return invalid("unexpected text after timestamp")
	}
	return nil
}
