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
// and the mapped pod labels), plus the target labels serve adds: job (the Service's
// name), namespace and instance (the pod's <IP>:<port>, from inst, when known); an
// exposed label of one of those names is kept as exported_<name>, as Prometheus'
// honor_labels: false keeps it. A sample is the pod's own-timestamped sample when its
// time differs from the pod's up sample's (the time of the pod's scrape).
func (s *service) toScrapes(res *source.MetricResult, inst map[string]string) ([]history.Scrape, []podState) {
	type podAcc struct {
		state podState
		added []labels.Label // the target labels serve adds to the pod's series
		vals  []int          // indexes into res.Values
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
			acc.added = s.added(v.Labels, inst[name])
			acc.state.labels = targetLabels(v.Labels, acc.added)
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
				Labels:       seriesLabels(&b, v.Labels, acc.added),
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

// added returns the target labels serve adds to a pod's series: job, namespace and,
// when known, instance, each unless the source sets it (it is in the pod's up labels).
func (s *service) added(up map[string]string, instance string) []labels.Label {
	var out []labels.Label
	for _, l := range [...]labels.Label{
		{Name: instanceLabel, Value: instance},
		{Name: jobLabel, Value: s.cfg.Source.ServiceName},
		{Name: namespaceLabel, Value: s.cfg.Source.ServiceNamespace},
	} {
		if _, set := up[l.Name]; !set && l.Value != "" {
			out = append(out, l)
		}
	}
	return out
}

// targetLabels are a pod's target labels: its up sample's labels (what the source adds
// to every sample) and the ones serve adds.
func targetLabels(up map[string]string, added []labels.Label) labels.Labels {
	var b labels.ScratchBuilder
	for k, v := range up {
		if k != labels.MetricName {
			b.Add(k, v)
		}
	}
	for _, l := range added {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// seriesLabels returns a sample's series labels: the sample's and the target labels serve
// adds; an exposed label of an added name is kept as exported_<name> (prefixed again
// while that name is taken too), as Prometheus' honor_labels: false keeps it. A
// ScratchBuilder: no lookups while adding, one sort.
func seriesLabels(b *labels.ScratchBuilder, m map[string]string, added []labels.Label) labels.Labels {
	b.Reset()
	for k, v := range m {
		for _, l := range added {
			if k == l.Name {
				k = exportedName(m, k)
				break
			}
		}
		b.Add(k, v)
	}
	for _, l := range added {
		b.Add(l.Name, l.Value)
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
