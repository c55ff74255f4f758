package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ComparisonRow is one series of one query as two backends answer it.
type ComparisonRow struct {
	Query string
	// Series names the series: its pod, or "all" for a query without one.
	Series string
	// Direct and Prometheus are the two answers; ok false when a backend has no such
	// series.
	Direct, Prometheus       float64
	DirectOK, PrometheusOK   bool
	DirectAge, PrometheusAge time.Duration
	// Trend is the direct answer's previous values, oldest first.
	Trend []float64
}

// WriteComparison renders rows as a table, with note lines after it.
func WriteComparison(w io.Writer, title string, rows []ComparisonRow, notes []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", title)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUERY\tSERIES\tPODSCRAPE\tAGE\tTREND\tPROMETHEUS\tAGE")
	for _, r := range rows {
		direct, promv, dage, page := "-", "-", "", ""
		if r.DirectOK {
			direct, dage = shortValue(r.Direct), formatAge(r.DirectAge)
		}
		if r.PrometheusOK {
			promv, page = shortValue(r.Prometheus), formatAge(r.PrometheusAge)
		}
		trend := ""
		if len(r.Trend) > 0 {
			trend = Sparkline(append(append([]float64(nil), r.Trend...), r.Direct))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Query, r.Series, direct, dage, trend, promv, page)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shortValue writes v with at most 4 significant digits: a table for the eye.
func shortValue(v float64) string {
	s := fmt.Sprintf("%.4g", v)
	if s == "NaN" || strings.Contains(s, "Inf") {
		return formatValue(v)
	}
	return s
}

func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}
