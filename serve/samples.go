package serve

import (
	"unsafe"

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
// Each pod's samples are handed to the history as they are, not copied: see
// historySamples. The history keeps its handle on each series in the sample's Ref slot
// (scrapes never overlap, so nothing else reads or writes the slots meanwhile) and keeps
// no reference to the slices, which the source reuses at the next scrape.
func (s *service) toScrapes(series []pod.PodSeries) ([]history.Scrape, []podState) {
	scrapes := make([]history.Scrape, 0, len(series))
	pods := make([]podState, 0, len(series))
	for i := range series {
		ps := &series[i]
		scrapes = append(scrapes, history.Scrape{
			Target:  s.cfg.Source.ServiceNamespace + "/" + ps.Pod,
			Time:    ps.ScrapedAt,
			Samples: historySamples(ps.Samples),
		})
		pods = append(pods, podState{
			name:     ps.Pod,
			uid:      ps.UID,
			up:       ps.Up,
			err:      ps.Err,
			scraped:  ps.ScrapedAt,
			duration: ps.Duration,
			labels:   ps.Target,
		})
	}
	return scrapes, pods
}

// The source's series samples and the history's samples are the same struct: the
// conversion below compiles only while their fields are identical in name, type and
// order, which is what makes historySamples' view of one as the other sound.
var _ = history.Sample(pod.SeriesSample{})

// historySamples views a pod's series samples as the history's, without copying them.
func historySamples(s []pod.SeriesSample) []history.Sample {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*history.Sample)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
