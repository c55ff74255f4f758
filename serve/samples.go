package serve

import (
	"errors"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source"
)

// Names of the labels the server adds to every series of a Service.
const (
	jobLabel       = "job"
	namespaceLabel = "namespace"
	podLabel       = "pod"
)

// toScrapes turns one all_metrics result into the history's scrapes, one per pod, and
// the pods' states. A series' labels are its exposed labels and the source's own (pod,
// and what the source adds to every sample, such as instance), plus job (the Service's
// name) and namespace; an exposed job or namespace becomes exported_job or
// exported_namespace, as Prometheus' honor_labels: false renames it. A sample is the
// pod's own-timestamped sample when its time differs from the pod's up sample's (the
// time of the pod's scrape).
func (s *service) toScrapes(res *source.MetricResult) ([]history.Scrape, []podState) {
	type podAcc struct {
		state podState
		up    map[string]string // the up sample's labels: what the source sets
		vals  []int             // indexes into res.Values
	}
	byPod := map[string]*podAcc{}
	order := []string{}
	for i := range res.Values {
		name := res.Values[i].Labels[podLabel]
		acc := byPod[name]
		if acc == nil {
			acc = &podAcc{state: podState{name: name}}
			byPod[name] = acc
			order = append(order, name)
		}
		acc.vals = append(acc.vals, i)
		if res.Values[i].Labels[labels.MetricName] == "up" {
			v := &res.Values[i]
			acc.state.up = v.Value == 1
			acc.state.scraped = v.Timestamp
			acc.state.labels = s.targetLabels(v.Labels)
			acc.up = v.Labels
		}
	}
	for _, st := range res.PodStatuses() {
		acc := byPod[st.Pod]
		if acc == nil {
			continue
		}
		acc.state.duration = st.Duration
		if !st.Up {
			acc.state.err = st.Err
			if acc.state.err == nil {
				acc.state.err = errors.New(st.Reason)
			}
		}
	}
	slices.Sort(order)

	scrapes := make([]history.Scrape, 0, len(order))
	pods := make([]podState, 0, len(order))
	var b labels.ScratchBuilder
	for _, name := range order {
		acc := byPod[name]
		if acc.state.scraped.IsZero() {
			continue // no up sample: not a pod's scrape
		}
		sc := history.Scrape{
			Target:  s.cfg.Source.ServiceNamespace + "/" + name,
			Time:    acc.state.scraped,
			Samples: make([]history.Sample, 0, len(acc.vals)),
		}
		for _, i := range acc.vals {
			v := &res.Values[i]
			sc.Samples = append(sc.Samples, history.Sample{
				Labels:       s.seriesLabels(&b, v.Labels, acc.up),
				T:            v.Timestamp.UnixMilli(),
				V:            v.Value,
				OwnTimestamp: !v.Timestamp.Equal(acc.state.scraped),
			})
		}
		scrapes = append(scrapes, sc)
		pods = append(pods, acc.state)
	}
	return scrapes, pods
}

// targetLabels are a pod's target labels: its up sample's labels (what the source adds
// to every sample) with job and namespace, unless the source sets them.
func (s *service) targetLabels(up map[string]string) labels.Labels {
	var b labels.Builder
	b.Reset(labels.EmptyLabels())
	s.addTarget(&b, up)
	for k, v := range up {
		if k != labels.MetricName {
			b.Set(k, v)
		}
	}
	return b.Labels()
}

// addTarget sets job (the Service's name) and namespace on b, except those the source
// sets itself (they are in the pod's up labels).
func (s *service) addTarget(b *labels.Builder, up map[string]string) {
	if _, ok := up[jobLabel]; !ok {
		b.Set(jobLabel, s.cfg.Source.ServiceName)
	}
	if _, ok := up[namespaceLabel]; !ok {
		b.Set(namespaceLabel, s.cfg.Source.ServiceNamespace)
	}
}

// seriesLabels returns a sample's series labels: the sample's, with the target's job and
// namespace where the source does not set them; an exposed label of the same name is
// kept as exported_<name> (prefixed again while that name is taken too), as Prometheus'
// honor_labels: false keeps it. A ScratchBuilder: no lookups while adding, one sort.
func (s *service) seriesLabels(b *labels.ScratchBuilder, m, up map[string]string) labels.Labels {
	_, sourceJob := up[jobLabel]
	_, sourceNamespace := up[namespaceLabel]
	b.Reset()
	for k, v := range m {
		if (k == jobLabel && !sourceJob) || (k == namespaceLabel && !sourceNamespace) {
			k = exportedName(m, k)
		}
		b.Add(k, v)
	}
	if !sourceJob {
		b.Add(jobLabel, s.cfg.Source.ServiceName)
	}
	if !sourceNamespace {
		b.Add(namespaceLabel, s.cfg.Source.ServiceNamespace)
	}
	b.Sort()
	return b.Labels()
}

// exportedName is the name an exposed label takes when the target sets its name:
// exported_<name>, prefixed again while the exposition uses that too.
func exportedName(m map[string]string, name string) string {
	n := "exported_" + name
	for {
		if _, ok := m[n]; !ok {
			return n
		}
		n = "exported_" + n
	}
}
