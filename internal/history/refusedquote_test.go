package history

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestRefusedSeriesQuotedCut: an Append's error quotes the first refused series cut to a
// few hundred bytes, the limit and the counts whole: a series with a label value of a
// megabyte (a pod's bug: a stack trace in a label) refused at the series limit made an
// error of a megabyte, which serve writes into the warnings of every answer that may read
// the Service until its next scrape.
func TestRefusedSeriesQuotedCut(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 1})
	mustAppend(t, h, t0, scrape("ns/a", t0, "x", 1.0))
	huge := strings.Repeat("v", 1<<20)
	sc := Scrape{Target: "ns/b", Time: t0.Add(15e9), Samples: []Sample{
		{Labels: labels.FromStrings("__name__", "y", "pod", "ns/b", "trace", huge), T: t0.Add(15e9).UnixMilli(), V: 1},
	}}
	_, err := h.Append(context.Background(), t0.Add(15e9), []Scrape{sc})
	if !errors.Is(err, ErrSeriesLimit) {
		t.Fatalf("got %v, want ErrSeriesLimit", err)
	}
	msg := err.Error()
	if len(msg) > 1<<10 || !strings.Contains(msg, "(1 series)") || !strings.Contains(msg, "target ns/b: series {__name__=\"y\"") || !strings.Contains(msg, "vvv...") {
		t.Errorf("error of %d bytes: %.400q; want at most 1 KiB naming the limit, the target and the series cut with \"...\"", len(msg), msg)
	}
}

// TestRefusedSeriesOfTheLimitQuotedWhole: a refused series whose text is exactly the
// quoted limit is quoted whole, with no "..." saying something was cut.
func TestRefusedSeriesOfTheLimitQuotedWhole(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 1})
	mustAppend(t, h, t0, scrape("ns/a", t0, "x", 1.0))
	lset := labels.FromStrings("__name__", "y", "pod", "ns/b", "trace", "")
	lset = labels.FromStrings("__name__", "y", "pod", "ns/b", "trace", strings.Repeat("v", maxQuotedSeries-len(lset.String())))
	if len(lset.String()) != maxQuotedSeries {
		t.Fatalf("series text of %d bytes, want %d", len(lset.String()), maxQuotedSeries)
	}
	at := t0.Add(15e9)
	sc := Scrape{Target: "ns/b", Time: at, Samples: []Sample{{Labels: lset, T: at.UnixMilli(), V: 1}}}
	_, err := h.Append(context.Background(), at, []Scrape{sc})
	if err == nil || !strings.Contains(err.Error(), lset.String()+" at ") {
		t.Errorf("error %q; want the series quoted whole, without \"...\"", err)
	}
}
