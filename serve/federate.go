package serve

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// handleFederate serves /federate as a Prometheus server does: the latest sample within
// the lookback delta of each series matching any match[], as untyped metric families,
// stale series left out, instance="" added where a series has none. Services are not
// scraped first: a federating Prometheus scrapes on its own interval.
func (s *Server) handleFederate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	var sets [][]*labels.Matcher
	for _, m := range r.Form["match[]"] {
		ms, err := s.parser.ParseMetricSelector(m)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(ms) == 0 {
			// {}: Prometheus' TSDB has no postings for no matchers, so the set selects
			// nothing there (200, no series), where the history would answer every series.
			continue
		}
		sets = append(sets, ms)
	}
	now := time.Now()
	mint, maxt := now.Add(-s.cfg.LookbackDelta).UnixMilli(), now.UnixMilli()
	q, err := s.queryable(0).Querier(mint, maxt)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt}
	var selected []storage.SeriesSet
	for _, ms := range sets {
		selected = append(selected, q.Select(r.Context(), true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(selected, 0, storage.ChainedSeriesMerge)

	type sample struct {
		l labels.Labels
		t int64
		f float64
	}
	var out []sample
	var it chunkenc.Iterator
	for set.Next() {
		series := set.At()
		it = series.Iterator(it)
		t, f, ok := lastFloat(it, maxt)
		if !ok || value.IsStaleNaN(f) {
			continue
		}
		out = append(out, sample{series.Labels().Copy(), t, f})
	}
	if err := set.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	slices.SortStableFunc(out, func(a, b sample) int {
		return strings.Compare(a.l.Get(labels.MetricName), b.l.Get(labels.MetricName))
	})

	format := federationFormat(r.Header)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	var fam *dto.MetricFamily
	flush := func() bool {
		if fam == nil {
			return true
		}
		return enc.Encode(fam) == nil
	}
	for _, smp := range out {
		name := smp.l.Get(labels.MetricName)
		if fam == nil || fam.GetName() != name {
			if !flush() {
				return
			}
			fam = &dto.MetricFamily{Name: &name, Type: dto.MetricType_UNTYPED.Enum()}
		}
		m := &dto.Metric{Untyped: &dto.Untyped{Value: floatPtr(smp.f)}, TimestampMs: &smp.t}
		hasInstance := false
		smp.l.Range(func(l labels.Label) {
			if l.Name == labels.MetricName || l.Value == "" {
				return
			}
			hasInstance = hasInstance || l.Name == "instance"
			m.Label = append(m.Label, &dto.LabelPair{Name: ptr(l.Name), Value: ptr(l.Value)})
		})
		if !hasInstance {
			m.Label = append(m.Label, &dto.LabelPair{Name: ptr("instance"), Value: ptr("")})
			slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		}
		fam.Metric = append(fam.Metric, m)
	}
	flush()
}

// textUTF8 is the text format's version 1.0.0, which a federating Prometheus asks for
// (scrape protocol PrometheusText1.0.0, with escaping=allow-utf-8): the 0.0.4 format with
// UTF-8 names quoted. expfmt knows only 0.0.4, and its negotiation matches versions
// exactly.
const textUTF8 = expfmt.Format("text/plain; version=1.0.0; charset=utf-8")

// federationFormat negotiates the exposition format of /federate as Prometheus does:
// delimited, text and compact protobuf, or the text format, with the escaping the client
// asks for. A federating Prometheus asks for the text format 1.0.0 with allow-utf-8: it
// gets UTF-8 names as they are, as the Prometheus server answers it (0.0.4's media type,
// escaping=allow-utf-8). Escaped with underscores, the default, a UTF-8 label name
// (model.name) would become its legacy look-alike (model_name), and a series with both
// would fail the federating server's whole scrape on the duplicate label.
func federationFormat(h http.Header) expfmt.Format {
	format := expfmt.NegotiateAccept(h, expfmt.NewFormat(expfmt.TypeProtoDelim), expfmt.NewFormat(expfmt.TypeProtoText),
		expfmt.NewFormat(expfmt.TypeProtoCompact), expfmt.NewFormat(expfmt.TypeTextPlain), textUTF8)
	if strings.HasPrefix(string(format), string(textUTF8)) {
		return expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(format.ToEscapingScheme())
	}
	return format
}

func ptr(s string) *string { return &s }

func floatPtr(f float64) *float64 { return &f }

// lastFloat returns the last float sample of it at or before maxt (milliseconds), and
// whether there is one.
func lastFloat(it chunkenc.Iterator, maxt int64) (t int64, f float64, ok bool) {
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			continue
		}
		if st, sf := it.At(); st <= maxt {
			t, f, ok = st, sf, true
		}
	}
	return t, f, ok
}
