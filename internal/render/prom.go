package render

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/podscrape/podscrape/internal/snapshot"
)

// promSeries is one line of the prom format.
type promSeries struct {
	name   string
	labels []snapshot.Label // pod included, sorted by name
	value  float64
}

// WriteProm writes s in the Prometheus text format 0.0.4: every sample with its pod
// label, grouped by name under a "# TYPE name untyped" line (pod scraping keeps sample
// names, not metric types: a histogram comes out as its _bucket, _sum and _count series),
// then each pod's up, scrape_duration_seconds and scrape_samples_scraped. Label values
// are escaped; names outside the classic character set (UTF-8 names) are quoted as
// Prometheus 3 writes them; names with colons (vllm:...) are classic. No timestamps are
// written: the output is one scrape, read as of now.
func WriteProm(w io.Writer, s *snapshot.Snapshot) error {
	series := make([]promSeries, 0, len(s.Samples)+3*len(s.Pods))
	for _, smp := range s.Samples {
		labels := append(slices.Clone(smp.Labels), snapshot.Label{Name: "pod", Value: smp.Pod})
		slices.SortFunc(labels, func(a, b snapshot.Label) int { return strings.Compare(a.Name, b.Name) })
		series = append(series, promSeries{name: smp.Name, labels: labels, value: smp.Value})
	}
	for _, p := range s.Pods {
		pod := []snapshot.Label{{Name: "pod", Value: p.Pod}}
		up := 0.0
		if p.Up {
			up = 1
		}
		series = append(series,
			promSeries{name: "up", labels: pod, value: up},
			promSeries{name: "scrape_duration_seconds", labels: pod, value: p.DurationSeconds},
			promSeries{name: "scrape_samples_scraped", labels: pod, value: float64(p.Samples)},
		)
	}
	// A name's lines must be contiguous; the sort is stable, so a pod's buckets keep
	// their order.
	slices.SortStableFunc(series, func(a, b promSeries) int { return cmp.Compare(a.name, b.name) })

	ew := &errWriter{w: w}
	var b strings.Builder
	for i, ser := range series {
		b.Reset()
		if i == 0 || series[i-1].name != ser.name {
			b.WriteString("# TYPE ")
			b.WriteString(promName(ser.name))
			b.WriteString(" untyped\n")
		}
		if isClassicMetricName(ser.name) {
			b.WriteString(ser.name)
			b.WriteByte('{')
		} else {
			b.WriteByte('{')
			b.WriteString(strconv.Quote(ser.name))
			b.WriteByte(',')
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
		if _, err := io.WriteString(ew, b.String()); err != nil {
			return err
		}
	}
	return ew.err
}

// promName writes a metric name in a # TYPE line: as is when classic, else quoted.
func promName(name string) string {
	if isClassicMetricName(name) {
		return name
	}
	return quoteName(name)
}

func promLabelName(name string) string {
	if isClassicLabelName(name) {
		return name
	}
	return quoteName(name)
}

// quoteName quotes a UTF-8 name as the text format does: backslash, double quote and
// line feed escaped.
func quoteName(name string) string {
	return `"` + escapeLabelValue(name) + `"`
}

// escapeLabelValue escapes backslash, double quote and line feed, and nothing else, as
// the text format wants.
func escapeLabelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// isClassicMetricName reports whether name matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func isClassicMetricName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isClassicLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func isClassicLabelName(name string) bool {
	return !strings.Contains(name, ":") && isClassicMetricName(name)
}
