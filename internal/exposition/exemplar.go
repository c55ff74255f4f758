package exposition

// checkExemplar checks the OpenMetrics exemplar at line[i] == '#' — # {labels} value
// [timestamp] — which the Parser drops. It fails the exposition where textparse does
// (the syntax, a value or timestamp that is not a float, a NaN or infinite timestamp,
// invalid UTF-8 in a label value), not where Prometheus' scrape loop only logs the
// exemplar its storage refuses: an empty or invalid UTF-8 quoted label name, a
// timestamp beyond int64 milliseconds.
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
			var msg string
			if _, j, p.scratch, msg = scanQuoted(line, j+1, p.scratch); msg != "" {
				return invalid(msg)
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
	if _, ok, _ := parseSeconds(line[j:k]); !ok {
		return invalid("bad timestamp")
	}
	if skipBlanks(line, k) != len(line) {
		return invalid("unexpected text after timestamp")
	}
	return nil
}
