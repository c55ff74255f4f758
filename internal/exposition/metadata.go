package exposition

// Metadata is what an exposition says about one metric family: its # TYPE, # HELP and
// (OpenMetrics only) # UNIT lines. Options.Metadata receives it.
//
// Its strings are immutable (interned when the Parser has an Interner) and may be kept.
type Metadata struct {
	// Family is the name the lines give, as exposed: x for an OpenMetrics counter whose
	// samples are x_total, x_total in the text format. It is the Family of the samples
	// that follow (see the package documentation).
	Family string
	// Type is the family's type; TypeUnknown when it has no # TYPE line.
	Type MetricType
	// Help is the # HELP text, unescaped as Prometheus' textparse stores it: \\ and \n in
	// both formats, \" too in OpenMetrics, any other backslash kept. It is the rest of the
	// line after the blank that follows the name. Empty when there is no # HELP line.
	Help string
	// Unit is the # UNIT text; empty when there is none.
	Unit string
}

// noteMetadata records a metadata line of the current family for Options.Metadata:
// keyword is HELP, TYPE or UNIT, text the rest of the line after the name's blank.
func (p *Parser) noteMetadata(keyword string, t MetricType, text []byte) {
	if p.meta.Family != p.family {
		p.flushMetadata()
		p.meta = p.said[p.family] // what its lines said before another family's, if any
		p.meta.Family = p.family
	}
	switch keyword {
	case "TYPE":
		p.meta.Type = t
	case "HELP":
		p.meta.Help = p.helpText(text)
	case "UNIT":
		p.meta.Unit, _ = p.recent.get(trimBlanks(text[skipBlanks(text, 0):]), p.opts.Interner)
	}
	p.metaPending = true
}

// flushMetadata hands the current family's metadata to Options.Metadata if a line of it
// has not been handed on yet. A family whose lines come in two blocks (some after its
// samples, or another family's lines between) is handed on twice, the second time with
// everything its lines said.
func (p *Parser) flushMetadata() {
	if p.metaPending {
		p.metaPending = false
		p.opts.Metadata(p.meta)
	}
}

// appendHelp appends the HELP text b unescaped: \\ and \n, and in OpenMetrics \"; a
// backslash before anything else is kept, as textparse keeps it.
func appendHelp(dst, b []byte, om bool) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			dst = append(dst, c)
			continue
		}
		switch e := b[i+1]; {
		case e == '\\':
			dst = append(dst, '\\')
		case e == 'n':
			dst = append(dst, '\n')
		case e == '"' && om:
			dst = append(dst, '"')
		default:
			dst = append(dst, '\\', e)
		}
		i++
	}
	return dst
}
