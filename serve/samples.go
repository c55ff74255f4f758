package serve

import (
	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source/pod"
)

// Names of the labels the server adds to every series of a Service.
const (
	jobLabel       = "job"
	namespaceLabel = "namespace"
	podLabel       = "pod"
)

// instanceLabel is the label Prometheus' pod discovery gives a target: <pod IP>:<port>.
const instanceLabel = "instance"

// toScrapes turns one scrape's pods (sorted by name) into the history's scrapes and the
// pods' states. A series' labels are what the source gives them (pod/ScrapeSeries):
// its exposed labels, pod, the mapped pod labels, namespace and instance, plus job (the
// Service's name) that serve asks for; an exposed label of one of those names is kept
// as exported_<name>, as Prometheus' honor_labels: false keeps it.
//
// The scrapes' samples are in s.samples, reused by the next scrape (the history keeps no
// reference to them; scrapes never overlap).
func (s *service) toScrapes(series []pod.PodSeries) ([]history.Scrape, []podState) {
	scrapes := make([]history.Scrape, 0, len(series))
	pods := make([]podState, 0, len(series))
	total := 0
	for i := range series {
		total += len(series[i].Samples)
	}
	if cap(s.samples) < total {
		s.samples = make([]history.Sample, total+total/8)
	}
	buf := s.samples[:total]
	for i := range series {
		ps := &series[i]
		sc := history.Scrape{
			Target:  s.cfg.Source.ServiceNamespace + "/" + ps.Pod,
			Time:    ps.ScrapedAt,
			Samples: buf[:len(ps.Samples):len(ps.Samples)],
		}
		buf = buf[len(ps.Samples):]
		for j := range ps.Samples {
			v := &ps.Samples[j]
			sc.Samples[j] = history.Sample{Labels: v.Labels, T: v.T, V: v.V, OwnTimestamp: v.OwnTimestamp}
			if v.Ref != nil {
				// The history keeps its handle on the series in the source's slot:
				// scrapes never overlap, so nothing else reads or writes it meanwhile.
				sc.Samples[j].Ref = &v.Ref.Ref
			}
		}
		scrapes = append(scrapes, sc)
		pods = append(pods, podState{
			name:     ps.Pod,
			up:       ps.Up,
			err:      ps.Err,
			scraped:  ps.ScrapedAt,
			duration: ps.Duration,
			labels:   ps.Target,
		})
	}
	return scrapes, pods
}
