package serve

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// metaParams are the parameters of /api/v1/series, /labels and /label/<name>/values.
type metaParams struct {
	mint, maxt int64
	matchers   [][]*labels.Matcher
	limit      int
}

func parseMetaParams(pr parser.Parser, r *http.Request, requireMatch bool) (metaParams, error) {
	var p metaParams
	if err := r.ParseForm(); err != nil {
		return p, &apiError{errorBadData, fmt.Errorf("error parsing form values: %w", err)}
	}
	if requireMatch && len(r.Form["match[]"]) == 0 {
		return p, &apiError{errorBadData, errors.New("no match[] parameter provided")}
	}
	var err error
	if p.limit, err = limitParam(r); err != nil {
		return p, badParam(err, "limit")
	}
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		return p, badParam(err, "start")
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		return p, badParam(err, "end")
	}
	p.mint, p.maxt = start.UnixMilli(), end.UnixMilli()
	if p.matchers, err = parseMatchers(pr, r.Form["match[]"]); err != nil {
		return p, matchError(err, requireMatch)
	}
	return p, nil
}

// parseMatchers parses match[] values as Prometheus does: every one first (the first
// that does not parse is the error), then each checked for a matcher that does not
// match the empty string, without which it would select every series.
func parseMatchers(pr parser.Parser, values []string) ([][]*labels.Matcher, error) {
	sets, err := pr.ParseMetricSelectors(values)
	if err != nil {
		return nil, err
	}
	for _, ms := range sets {
		if allEmpty(ms) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
}

// matchError is a bad match[]'s error as Prometheus words it: /api/v1/series (the
// endpoint that requires a match[]) names the parameter, labels and label values do not.
func matchError(err error, series bool) *apiError {
	if series {
		return badParam(err, "match[]")
	}
	return &apiError{errorBadData, err}
}

// allEmpty reports whether every matcher matches the empty string: such a selector
// would select every series.
func allEmpty(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return false
		}
	}
	return true
}

// handleSeries serves /api/v1/series: the series matching any match[] within start-end.
func (s *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	p, q, ok := s.metaQuerier(w, r, true)
	if !ok {
		return
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: p.mint, End: p.maxt, Func: "series"}
	seen := map[string]bool{}
	out := []labels.Labels{}
	for _, ms := range p.matchers {
		ss := q.Select(r.Context(), false, hints, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			if k := l.String(); !seen[k] {
				seen[k] = true
				out = append(out, l.Copy())
			}
		}
		if err := ss.Err(); err != nil {
			respondError(w, &apiError{errorExec, err})
			return
		}
	}
	slices.SortFunc(out, labels.Compare)
	var warnings []string
	if p.limit > 0 && len(out) > p.limit {
		out = out[:p.limit]
		warnings = []string{"results truncated due to limit"}
	}
	respond(w, labelSets(out), warnings, nil)
}

// handleLabels serves /api/v1/labels: the label names of the series matching any
// match[] (every series without one).
func (s *Server) handleLabels(w http.ResponseWriter, r *http.Request) {
	s.serveLabelQuery(w, r, func(q storage.Querier, p metaParams, ms []*labels.Matcher) ([]string, error) {
		names, _, err := q.LabelNames(r.Context(), &storage.LabelHints{Limit: hintLimit(p.limit)}, ms...)
		return names, err
	})
}

// handleLabelValues serves /api/v1/label/<name>/values.
func (s *Server) handleLabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// Grafana and client_golang ask for a UTF-8 label name's values by its escaped form
	// (U__ and the value encoding). Prometheus unescapes every such name, so a label
	// really named U__x cannot be asked for there either.
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		respondError(w, &apiError{errorBadData, fmt.Errorf("invalid label name: %q", name)})
		return
	}
	s.serveLabelQuery(w, r, func(q storage.Querier, p metaParams, ms []*labels.Matcher) ([]string, error) {
		vals, _, err := q.LabelValues(r.Context(), name, &storage.LabelHints{Limit: hintLimit(p.limit)}, ms...)
		return vals, err
	})
}

// serveLabelQuery answers the sorted union of get over each match[] (or over none).
func (s *Server) serveLabelQuery(w http.ResponseWriter, r *http.Request, get func(storage.Querier, metaParams, []*labels.Matcher) ([]string, error)) {
	p, q, ok := s.metaQuerier(w, r, false)
	if !ok {
		return
	}
	defer q.Close()
	sets := p.matchers
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	seen := map[string]bool{}
	out := []string{}
	for _, ms := range sets {
		vals, err := get(q, p, ms)
		if err != nil {
			respondError(w, &apiError{errorExec, err})
			return
		}
		for _, v := range vals {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	var warnings []string
	if p.limit > 0 && len(out) > p.limit {
		out = out[:p.limit]
		warnings = []string{"results truncated due to limit"}
	}
	respond(w, out, warnings, nil)
}

// hintLimit is the limit to ask a querier for: one more than the answer may hold, so
// that a longer answer tells it was truncated (Prometheus' toHintLimit). 0, no limit,
// stays 0.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// metaQuerier parses a metadata request's parameters (match[] required when series is
// set) and opens a querier over its time range; on failure it has answered the error and
// ok is false. The caller closes the querier.
func (s *Server) metaQuerier(w http.ResponseWriter, r *http.Request, series bool) (p metaParams, q storage.Querier, ok bool) {
	p, err := parseMetaParams(s.parser, r, series)
	if err != nil {
		respondError(w, err)
		return p, nil, false
	}
	if q, err = s.queryable(0).Querier(p.mint, p.maxt); err != nil {
		respondError(w, &apiError{errorExec, err})
		return p, nil, false
	}
	return p, q, true
}
