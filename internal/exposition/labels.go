package exposition

import (
	"fmt"
	"hash/maphash"
	"slices"
)

// maxPairwiseLabels is the most labels checked for duplicate names pair by pair; more
// are sorted, so that a line with a great many labels costs n log n, not n².
const maxPairwiseLabels = 8

// parseLabels parses the labels after the '{' at i-1, up to and including the '}'. It
// returns the index after the '}' and the sum of the labels' pair hashes, which identify
// the series. With build it also fills p.labels and returns their number; without, it
// checks the labels by the same rules and hashes them alike, making no strings.
//
// named says whether the line's metric name is known already. If not (build is then
// set), a quoted name among the labels is taken into p.braceName; if so, one is an error.
func (p *Parser) parseLabels(line []byte, i int, checkUTF8, build, named bool) (n, next int, sum uint64, err error) {
	p.braceNamed = false
	hashes := p.nameHashes[:0]
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
			var msg string
			nameB, j, p.scratch, msg = scanQuoted(line, j+1, p.scratch)
			if msg != "" {
				return 0, 0, 0, p.fail(line, msg+" in label name")
			}
			// A quoted string followed by ',' or '}' is the metric name, anywhere in
			// the braces (as textparse has it).
			if k := skipBlanks(line, j); k < len(line) && (line[k] == ',' || line[k] == '}') {
				if err := p.braceMetricName(line, nameB, named); err != nil {
					return 0, 0, 0, err
				}
				if j = k; line[j] == ',' {
					j++
				}
				continue
			}
			if err := p.checkName(line, nameB, "label name"); err != nil {
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
		floatLabel := p.floatLabel != "" && string(nameB) == p.floatLabel

		// The name becomes a string (or a hash) now, before the value's unescaping
		// reuses p.scratch. Any entry of p.prev is a consistent name, value and hashes,
		// whichever sample left it, so comparing with it is always safe.
		var prev *prevLabel
		var name string
		var nameHash uint64
		if n < len(p.prev) {
			prev = &p.prev[n]
		}
		sameName := prev != nil && prev.name == string(nameB)
		switch {
		case sameName:
			name, nameHash = prev.name, prev.nameHash
		case build:
			name, nameHash = p.recent.get(nameB, p.opts.Interner)
		default:
			nameHash = maphash.Bytes(p.recent.seed, nameB)
		}
		if !build {
			hashes = append(hashes, nameHash)
		}

		j = skipBlanks(line, j)
		if j == len(line) || line[j] != '=' {
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected '=' after label name %q", truncate(nameB, maxQuotedToken)))
		}
		j = skipBlanks(line, j+1)
		if j == len(line) || line[j] != '"' {
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected quoted value for label %q", truncate(nameB, maxQuotedToken)))
		}
		valueB, k, scratch, msg := scanQuoted(line, j+1, p.scratch)
		p.scratch = scratch
		switch {
		case msg != "":
			return 0, 0, 0, p.fail(line, "unterminated label value")
		case checkUTF8 && !validUTF8(valueB):
			return 0, 0, 0, p.fail(line, "invalid UTF-8 in label value")
		}
		j = k

		if build {
			sum += p.buildLabel(n, prev, name, nameHash, sameName, valueB, floatLabel)
		} else {
			// The hashes buildLabel would compute, from the previous built sample's
			// label where it is the same, without making strings or keeping any.
			var valueHash uint64
			if prev != nil && prev.value == string(valueB) {
				valueHash = prev.valueHash
			} else {
				valueHash = maphash.Bytes(p.recent.seed, valueB)
			}
			if floatLabel {
				valueHash = p.floatLabels.hash(valueB, valueHash, p.recent.seed)
			}
			sum += pairHash(nameHash, valueHash)
		}
		n++

		j = skipBlanks(line, j)
		switch {
		case j == len(line):
			return 0, 0, 0, p.fail(line, "unterminated label set")
		case line[j] == ',':
			j++
		case line[j] != '}' && p.format == FormatOpenMetrics:
			// The text format needs no comma between labels (`a{b="1" c="2"}`, even
			// `a{b="1"c="2"}`): textparse's promparse takes the next label name or
			// '}' after a value, its comma optional. Its OpenMetrics parser wants one.
			return 0, 0, 0, p.fail(line, fmt.Sprintf("expected ',' or '}' after label value, found %q", line[j]))
		}
	}
	p.nameHashes = hashes
	if build {
		if dup, ok := p.duplicateName(p.labels[:n]); ok {
			return 0, 0, 0, p.fail(line, fmt.Sprintf("duplicate label %q", dup))
		}
	} else if p.duplicateHash(hashes) {
		// Probably a label name given twice: building the labels names it, or finds
		// the rare two names of one hash.
		return p.parseLabels(line, i, checkUTF8, true, named)
	}
	return n, j, sum, nil
}

// braceMetricName takes the quoted metric name nameB found among a sample's labels.
func (p *Parser) braceMetricName(line, nameB []byte, named bool) error {
	if err := p.checkName(line, nameB, "metric name"); err != nil {
		return err
	}
	if named || p.braceNamed {
		return p.fail(line, "metric name already set")
	}
	p.braceName, p.braceNameHash = p.name(nameB)
	p.braceNamed = true
	return nil
}

// buildLabel makes the n-th label of the current sample from its name (and its hash)
// and its unescaped value, and returns its pair hash. prev is the previous sample's n-th
// label, if any; sameName says it has this name. floatLabel says the value is an le or
// quantile value to store in its canonical float form.
func (p *Parser) buildLabel(n int, prev *prevLabel, name string, nameHash uint64, sameName bool, valueB []byte, floatLabel bool) uint64 {
	var value string
	var valueHash, h uint64
	switch {
	case !floatLabel && prev != nil && prev.value == string(valueB):
		value, valueHash = prev.value, prev.valueHash
		if sameName {
			h = prev.hash
		} else {
			h = pairHash(nameHash, valueHash)
		}
	default:
		value, valueHash = p.recent.get(valueB, p.opts.Interner)
		if floatLabel {
			value, valueHash = p.floatLabels.get(value, valueHash, &p.recent, p.opts.Interner)
		}
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
	return h
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

// duplicateHash reports whether a hash occurs twice in hashes, which it may reorder.
func (p *Parser) duplicateHash(hashes []uint64) bool {
	if len(hashes) <= maxPairwiseLabels {
		for i := 1; i < len(hashes); i++ {
			for k := range i {
				if hashes[i] == hashes[k] {
					return true
				}
			}
		}
		return false
	}
	slices.Sort(hashes)
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			return true
		}
	}
	return false
}
