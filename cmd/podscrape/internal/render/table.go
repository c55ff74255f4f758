package render

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// WriteTable writes s as a table: a heading line, one row per sample (METRIC, POD, VALUE,
// LABELS; wide adds TIMESTAMP after VALUE), and the pod status rows (POD, UP, DURATION,
// SAMPLES, ERROR; wide adds REASON before ERROR). With ch (see Diff), a CHANGE column
// before LABELS shows each value's delta, or "new", and a summary line follows, except
// on the first refresh (ch.First), which has nothing to compare with. The WarningLines
// come last. The
// labels come last: they are the widest cells, and a line that wraps should not push the
// value out of sight.
func WriteTable(w io.Writer, s *snapshot.Snapshot, wide bool, ch *Changes) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Service %s: %d of %d pods up, collected %s\n", s.Service, s.Up(), len(s.Pods),
		s.CollectedAt.UTC().Format(timestampLayout))
	if len(s.Pods) == 0 {
		fmt.Fprintln(ew, EmptyNote(s))
		if ch != nil && !ch.First { // the refresh the last pods left (scale to zero): say which
			fmt.Fprintln(ew, summary(ch))
		}
		fmt.Fprint(ew, WarningLines(s))
		return ew.err
	}

	var rows bytes.Buffer
	if note := UnmatchedNote(s); note != "" {
		fmt.Fprintln(ew, note)
	}
	if len(s.Samples) == 0 {
		fmt.Fprintln(ew, EmptyNote(s))
	} else {
		header := []string{"METRIC", "POD", "VALUE"}
		if wide {
			header = append(header, "TIMESTAMP")
		}
		if ch != nil {
			header = append(header, "CHANGE")
		}
		row(&rows, append(header, "LABELS")...)
		for i := range s.Samples {
			smp := &s.Samples[i]
			cells := []string{cell(smp.Name), cell(smp.Pod), formatValue(smp.Value)}
			if wide {
				cells = append(cells, smp.Timestamp.UTC().Format(timestampLayout))
			}
			if ch != nil {
				cells = append(cells, formatChange(ch.Samples[i]))
			}
			row(&rows, append(cells, formatLabels(smp.Labels))...)
		}
		if err := flush(ew, &rows); err != nil {
			return err
		}
	}

	fmt.Fprintln(ew)
	header := []string{"POD", "UP", "DURATION", "SAMPLES"}
	if wide {
		header = append(header, "REASON")
	}
	row(&rows, append(header, "ERROR")...)
	for _, p := range s.Pods {
		up := "0"
		if p.Up {
			up = "1"
		}
		cells := []string{cell(p.Pod), up, formatSeconds(p.DurationSeconds), strconv.Itoa(p.Samples)}
		if wide {
			cells = append(cells, p.Reason)
		}
		row(&rows, append(cells, cell(p.Error))...)
	}
	if err := flush(ew, &rows); err != nil {
		return err
	}
	if ch != nil && !ch.First {
		fmt.Fprintln(ew, summary(ch))
	}
	fmt.Fprint(ew, WarningLines(s))
	return ew.err
}

// WarningLines are the table's last lines: one "Warning: " line per warning of s (pods
// no longer scraped, whose samples s lacks), as podscrape query writes its result's;
// "" when s has none. Beside json and prom, scrape writes them on stderr.
func WarningLines(s *snapshot.Snapshot) string {
	var b strings.Builder
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	return b.String()
}

// UnmatchedNote is the table's line naming each --metric of which the pods that
// answered exposed no sample (Snapshot.Unmatched); "" when there is none.
func UnmatchedNote(s *snapshot.Snapshot) string {
	if len(s.Unmatched) == 0 {
		return ""
	}
	quoted := make([]string, len(s.Unmatched))
	comma := false
	for i, m := range s.Unmatched {
		quoted[i] = strconv.Quote(m)
		comma = comma || strings.Contains(m, ",")
	}
	hint := ""
	if comma {
		hint = " (repeat --metric for each name)"
	}
	return fmt.Sprintf("No sample of --metric %s: the pods that answered expose none%s.", strings.Join(quoted, ", "), hint)
}

// EmptyNote is the table's line saying why s holds no sample: no Ready pod behind the
// Service, every pod failed, none matched --metric or --match, or the pods exposed none;
// "" when s holds samples.
func EmptyNote(s *snapshot.Snapshot) string {
	switch {
	case len(s.Pods) == 0:
		return fmt.Sprintf("No ready pods behind service %s.", s.Service)
	case len(s.Samples) > 0:
		return ""
	case s.Up() == 0:
		return "No samples: no pod could be scraped (see ERROR below)."
	case s.Filtered:
		return "No samples matched."
	default:
		return "No samples: the pods scraped exposed none."
	}
}

// row writes one row, every cell tab-terminated so that all rows share the columns.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t")+"\t")
}

// flush writes the rows of buf, aligned, to w, without the padding that would end the
// lines.
func flush(w io.Writer, buf *bytes.Buffer) error {
	var aligned bytes.Buffer
	tw := tabwriter.NewWriter(&aligned, 0, 8, 2, ' ', 0)
	if _, err := tw.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	buf.Reset()
	for line := range strings.Lines(aligned.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// formatLabels writes labels as a selector without braces: a="x",b="y".
func formatLabels(ls []snapshot.Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(cell(l.Name))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	return b.String()
}

func formatChange(c Change) string {
	switch {
	case c.New:
		return "new"
	case !c.Changed():
		return ""
	}
	return formatDelta(c.Delta)
}

// summary is the line under a watched table.
func summary(ch *Changes) string {
	var b strings.Builder
	b.WriteString("Since the last refresh")
	if ch.Since > 0 {
		fmt.Fprintf(&b, " (%s)", formatSeconds(ch.Since.Seconds()))
	}
	fmt.Fprintf(&b, ": %d changed, %d new, %d gone", ch.Changed, ch.New, ch.Gone)
	for _, l := range []struct {
		what string
		pods []string
	}{{"pods added", ch.PodsAdded}, {"pods gone", ch.PodsGone}, {"pods up", ch.PodsUp}, {"pods down", ch.PodsDown}} {
		if len(l.pods) > 0 {
			fmt.Fprintf(&b, "; %s: %s", l.what, strings.Join(l.pods, ", "))
		}
	}
	b.WriteByte('.')
	return b.String()
}

// errWriter remembers the first write error and drops what follows it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
