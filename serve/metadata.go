package serve

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/podscrape/podscrape/source/pod"
)

// metadata is one metric's entry of /api/v1/metadata.
type metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// handleMetadata serves /api/v1/metadata: each metric family's # TYPE, # HELP and # UNIT
// as the Services' pods exposed them, the distinct entries per family (pods of one
// Service may disagree: a rolling upgrade), those of families no pod exposed for 10
// scrapes left out (pod.PodScrapingSource.MetadataEntries); limit, limit_per_metric and
// metric filter as Prometheus' do.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", -1)
	if err != nil {
		respondError(w, &apiError{errorBadData, err})
		return
	}
	perMetric, err := intParam(r, "limit_per_metric", -1)
	if err != nil {
		respondError(w, &apiError{errorBadData, err})
		return
	}
	metric := r.FormValue("metric")
	out := map[string][]metadata{}
	for _, svc := range s.services {
		for name, entries := range svc.src.MetadataEntries() {
			if metric != "" && name != metric {
				continue
			}
			for _, md := range entries {
				e := metadata{Type: promType(md), Help: md.Help, Unit: md.Unit}
				if !contains(out[name], e) && (perMetric <= 0 || len(out[name]) < perMetric) {
					if _, ok := out[name]; !ok && limit >= 0 && len(out) >= limit {
						continue
					}
					out[name] = append(out[name], e)
				}
			}
		}
	}
	respond(w, out, nil, nil)
}

// promType is the type as Prometheus' metadata API names it: OpenMetrics' names, with
// "unknown" for the text format's untyped.
func promType(md pod.MetricMetadata) string {
	if md.Type == "" || md.Type == "untyped" {
		return "unknown"
	}
	return md.Type
}

func contains(list []metadata, e metadata) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// intParam parses an integer parameter; def when absent. Its error reads as
// Prometheus': "limit must be a number".
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return n, nil
}
