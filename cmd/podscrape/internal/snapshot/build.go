package snapshot

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// Collect refreshes q on src and builds the Snapshot of service (namespace/name), with
// the metric families' metadata when src reports it (Metadata). When
// every pod failed, it returns both the Snapshot, which says why for each pod, and the
// error; when the Refresh produced nothing (the Service is missing, the Secret cannot be
// read, ctx ended), a nil Snapshot and the error.
func Collect(ctx context.Context, src source.MetricsSource, service string, f Filter, q Queries) (*Snapshot, error) {
	results, err := src.Refresh(ctx, source.RefreshSpec{Queries: q.Names})
	if len(results) == 0 {
		return nil, err
	}
	s := Build(service, results, f, q)
	if m, ok := src.(metadataSource); ok {
		s.Metadata = m.Metadata()
	}
	return s, err
}

// metadataSource is a source that reports what its pods said of their metric families,
// as *pod.PodScrapingSource does.
type metadataSource interface {
	Metadata() map[string]pod.MetricMetadata
}

// Build makes the Snapshot of service from the results of refreshing q. The results are
// only read.
func Build(service string, results map[string]*source.MetricResult, f Filter, q Queries) *Snapshot {
	s := &Snapshot{Service: service, Filtered: len(f.Metrics) > 0 || f.Match != nil}
	var podErr error
	seen := map[string]bool{}
	exposed := map[string]bool{} // query names of q.metrics with a sample, kept or not
	for _, name := range q.metrics {
		r := results[name]
		if r == nil {
			continue
		}
		s.CollectedAt, podErr = r.CollectedAt, r.Error
		s.addWarnings(r.Warnings)
		for i := range r.Values {
			v := &r.Values[i]
			if f.isSynthetic(v) {
				if len(q.status) == 0 {
					s.addStatus(v)
				}
				continue
			}
			exposed[name] = true
			name := v.Labels["__name__"]
			if !f.keep(name) {
				continue
			}
			smp := newSample(v)
			if len(q.metrics) > 1 { // overlapping metrics (a family and its series) once
				k := smp.Key()
				if seen[k] {
					continue
				}
				seen[k] = true
			}
			s.Samples = append(s.Samples, smp)
		}
	}
	for _, name := range q.status {
		if r := results[name]; r != nil {
			s.CollectedAt, podErr = r.CollectedAt, r.Error
			s.addWarnings(r.Warnings)
			for i := range r.Values {
				s.addStatus(&r.Values[i])
			}
		}
	}
	s.addErrors(podErr)
	if len(f.Metrics) > 0 && len(q.metrics) == len(f.Metrics) && s.Up() > 0 {
		for i, m := range f.Metrics {
			if !exposed[q.metrics[i]] && !slices.Contains(s.Unmatched, m) {
				s.Unmatched = append(s.Unmatched, m)
			}
		}
	}
	slices.SortFunc(s.Pods, func(a, b PodStatus) int { return strings.Compare(a.Pod, b.Pod) })
	slices.SortStableFunc(s.Samples, func(a, b Sample) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Pod, b.Pod))
	})
	return s
}

// isSynthetic reports whether v is one of the series the scraper adds per pod: named so,
// and labelled with nothing but __name__, pod and the pod labels f names (which a pod
// without them lacks).
func (f Filter) isSynthetic(v *source.MetricValue) bool {
	switch v.Labels["__name__"] {
	case seriesUp, seriesDuration, seriesSamples:
	default:
		return false
	}
	if _, ok := v.Labels["pod"]; !ok {
		return false
	}
	extra := len(v.Labels) - 2
	for _, key := range f.PodLabels {
		if _, ok := v.Labels[mappedPodLabelName(key)]; ok {
			extra--
		}
	}
	return extra == 0
}

// mappedPodLabelName is the label name a source gives the pod label key, as
// Prometheus' kubernetes_sd and labelmap do (and package pod): every character outside
// [a-zA-Z0-9_] becomes "_" ("llm-d.ai/variant" -> "llm_d_ai_variant").
func mappedPodLabelName(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, key)
}

// addWarnings adds those of warnings s lacks: every result of a refresh carries the
// source's warnings of the scrape.
func (s *Snapshot) addWarnings(warnings []string) {
	for _, w := range warnings {
		if !slices.Contains(s.Warnings, w) {
			s.Warnings = append(s.Warnings, w)
		}
	}
}

// addStatus records a synthetic sample in its pod's status.
func (s *Snapshot) addStatus(v *source.MetricValue) {
	p := s.pod(v.Labels["pod"])
	switch v.Labels["__name__"] {
	case seriesUp:
		p.Up = v.Value == 1
	case seriesDuration:
		p.DurationSeconds = v.Value
	case seriesSamples:
		p.Samples = int(v.Value)
	}
}

func (s *Snapshot) pod(name string) *PodStatus {
	for i := range s.Pods {
		if s.Pods[i].Pod == name {
			return &s.Pods[i]
		}
	}
	s.Pods = append(s.Pods, PodStatus{Pod: name})
	return &s.Pods[len(s.Pods)-1]
}

// addErrors gives every failed pod the cause of its *pod.ScrapeError in err.
func (s *Snapshot) addErrors(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var se *pod.ScrapeError
		if !errors.As(e, &se) {
			continue
		}
		name := se.Pod[strings.LastIndexByte(se.Pod, '/')+1:]
		p := s.pod(name)
		p.Up = false
		p.Error = se.Err.Error()
		p.Reason = pod.ScrapeReason(se.Err)
	}
}

func newSample(v *source.MetricValue) Sample {
	smp := Sample{
		Name:      v.Labels["__name__"],
		Pod:       v.Labels["pod"],
		Value:     v.Value,
		Timestamp: v.Timestamp,
		Labels:    make([]Label, 0, len(v.Labels)-2),
	}
	for name, value := range v.Labels {
		if name != "__name__" && name != "pod" {
			smp.Labels = append(smp.Labels, Label{name, value})
		}
	}
	slices.SortFunc(smp.Labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	return smp
}

// Key identifies the sample's series (pod, name and labels) among a Snapshot's samples.
func (smp *Sample) Key() string {
	var b strings.Builder
	b.WriteString(smp.Pod)
	b.WriteByte(0xff)
	b.WriteString(smp.Name)
	for _, l := range smp.Labels {
		b.WriteByte(0xff)
		b.WriteString(l.Name)
		b.WriteByte(0xfe)
		b.WriteString(l.Value)
	}
	return b.String()
}
