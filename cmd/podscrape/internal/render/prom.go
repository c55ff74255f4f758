package render

import (
	"io"
	"strings"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// WriteProm writes s in the Prometheus text format 0.0.4, metric family by metric family:
// each with the # HELP and # TYPE lines its pods exposed (s.Metadata; see promFamilies
// for how OpenMetrics families are named in the text format), every series with its pod
// label; then each pod's up, scrape_duration_seconds and scrape_samples_scraped. A pod
// whose exposition passes `promtool check metrics` thus gives output that passes it.
//
// Names are written as the format allows: classic names (vllm:... included) bare, other
// UTF-8 names quoted as Prometheus 3 writes them; quoted names and label values escape
// backslash, double quote and line feed, and nothing else. No timestamps are written:
// the output is one scrape, read as of now.
func WriteProm(w io.Writer, s *snapshot.Snapshot) error {
	ew := &errWriter{w: w}
	var b strings.Builder
	for _, f := range promFamilies(s) {
		b.Reset()
		name := promMetricName(f.name)
		if f.help != "" {
			b.WriteString("# HELP ")
			b.WriteString(name)
			b.WriteByte(' ')
			b.WriteString(escapeHelp(f.help))
			b.WriteByte('\n')
		}
		b.WriteString("# TYPE ")
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(f.typ)
		b.WriteByte('\n')
		for _, ser := range f.series {
			writePromSeries(&b, &ser)
		}
		if _, err := io.WriteString(ew, b.String()); err != nil {
			return err
		}
	}
	return ew.err
}

// writePromSeries writes one sample line: name{labels} value.
func writePromSeries(b *strings.Builder, ser *promSeries) {
	if isClassicMetricName(ser.name) {
		b.WriteString(ser.name)
		b.WriteByte('{')
	} else {
		b.WriteByte('{')
		b.WriteString(quoteName(ser.name))
		if len(ser.labels) > 0 {
			b.WriteByte(',')
		}
	}
	for j, l := range ser.labels {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(promLabelName(l.Name))
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(l.Value))
		b.WriteByte('"')
	}
	b.WriteString("} ")
	b.WriteString(formatValue(ser.value))
	b.WriteByte('\n')
}
