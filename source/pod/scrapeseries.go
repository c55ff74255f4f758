package pod

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/internal/leftout"
	"github.com/podscrape/podscrape/internal/synthetic"
)

// PodSeries is one pod's scrape as Prometheus series, as ScrapeSeries returns it.
type PodSeries struct {
	// Pod is the pod's name.
	Pod string
	// UID is the Pod object's UID: a pod deleted and created again under its name (a
	// StatefulSet's) is another pod, with another UID.
	UID types.UID
	// Target are the labels every series of the pod carries, sorted: pod, the mapped
	// PodLabels, namespace, instance (the pod's <IP>:<port>, IPv6 bracketed) and the
	// extra labels of the call.
	Target labels.Labels
	// Up says the scrape succeeded; when not, Err is its *ScrapeError and Samples hold
	// only the synthetic ones.
	Up bool
	// Err is the scrape's *ScrapeError when Up is false, else nil.
	Err error
	// ScrapedAt is when the scrape started: the time of every sample without its own.
	ScrapedAt time.Time
	// Duration is how long the request and the parse took.
	Duration time.Duration
	// Samples are the pod's exposed samples in exposition order (the first of a
	// repeated series, and a repeat with a later timestamp of its own, which Prometheus
	// stores too), then its up, scrape_duration_seconds and scrape_samples_scraped.
	// The slice is the source's: the pod's next ScrapeSeries reuses it, so read it
	// before calling ScrapeSeries again.
	Samples []SeriesSample
}

// SeriesSample is one sample of a PodSeries.
type SeriesSample struct {
	// Labels name the series: __name__, the exposed labels and the pod's Target labels.
	// An exposed label with an empty value is no label, as in Prometheus (m{a="1",b=""}
	// is the series m{a="1"}): two exposed series of one label set give two samples of
	// it, of which a store keeps the first, as Prometheus' does (serve's history drops
	// the other as a duplicate, in no metric). Finding them here cost a map of every
	// sample's labels per scrape, doubling a scrape's allocations for the rare
	// exposition that has one. An exposed label named as a target label is kept as
	// exported_<name> (prefixed again while that name is taken), as Prometheus'
	// honor_labels: false keeps it; an empty one is dropped.
	Labels labels.Labels
	// T is the sample's time in milliseconds since the Unix epoch: its own timestamp
	// when the exposition gave one, else the scrape's start.
	T int64
	// V is the value; NaN and ±Inf are values.
	V float64
	// OwnTimestamp says T is the exposition's and differs from the scrape's start.
	OwnTimestamp bool
	// Ref is the caller's slot for the series (never nil): the same slot comes back
	// with the pod's next scrapes while the pod keeps exposing the series under the
	// same target labels, so a caller that stores series can keep its handle on the
	// stored one there and find it without hashing the labels again. A new series
	// comes with an empty slot (nil). The source never reads or writes what the slot
	// holds: it is the caller's alone.
	Ref *any
}

// SeriesReport is what ScrapeSeriesReport found: the pods it scraped and those it did not.
type SeriesReport struct {
	// Pods are the pods scraped, sorted by name: what ScrapeSeries returns.
	Pods []PodSeries
	// Unscraped are the pods the Service selects that were not scraped because they
	// are not Ready or have finished (phase Failed or Succeeded), sorted by name; nil
	// when there are none. A pod terminating (a scale-down, a rollout) is not among
	// them: its load is going away, not left out. A caller that stored a pod's series
	// tells by UID whether such a pod is the one that answered (its series went stale
	// and an answer leaves them out) or another created under its name, starting.
	// The slice is the caller's.
	Unscraped []UnscrapedPod
}

// UnscrapedPod is a pod a ScrapeSeriesReport found and did not scrape.
type UnscrapedPod struct {
	// Pod is the pod's name.
	Pod string
	// UID is the Pod object's UID.
	UID types.UID
	// Why is "not Ready", "finished (Failed)" or "finished (Succeeded)", or, for a
	// Ready pod whose address another Ready pod claims too (a reused IP), why the other
	// keeps it ("its address 10.0.0.5:8000 is pod vllm-7's, created later (a reused IP)").
	Why string
}

// ScrapeSeries discovers the Service's ready pods, scrapes each once and returns every
// sample of each as a Prometheus series, pods sorted by name: what Refresh of
// AllMetricsQuery returns, labelled as Prometheus' pod discovery and relabelling label
// the series (namespace and instance added), plus the extra labels, built straight from
// the parser without a label map per sample. extra must not name __name__, pod,
// namespace, instance or a mapped PodLabels label, nor one twice.
//
// A pod that failed is in the slice with its error. Discovery or Secret failures, or ctx
// ending, return an error and no pods; so does a Service that selects pods none of which
// is Ready (ErrNoReadyPods), where Refresh answers empty as the guide has it: a caller
// serving autoscalers must not read pods that are all failing their readiness probes as
// no load. A Service that selects no pod returns none and no error. ScrapeSeries
// records the pods' metadata (see Metadata) and the source's metrics as Refresh does
// (podscrape_cache_age_seconds counts from its last call in which not every pod
// failed), but neither caches results, nor feeds the history of PromQL queries, nor
// shares its scrape with Refresh calls.
// ScrapeSeries calls are serialised: each reuses what the previous one returned (see
// PodSeries.Samples); a call waiting for another still ends with its own ctx.
// ScrapeSeriesReport also says which pods the Service selects it did not scrape.
func (s *PodScrapingSource) ScrapeSeries(ctx context.Context, extra ...labels.Label) ([]PodSeries, error) {
	r, err := s.ScrapeSeriesReport(ctx, extra...)
	return r.Pods, err
}

// ScrapeSeriesReport is ScrapeSeries, returning with the pods scraped those the
// Service selects that it did not scrape because they are not Ready or have finished
// (see SeriesReport.Unscraped): found by the same discovery, at no further API read.
// On an error the report is empty, but for ErrNoReadyPods: then it has those pods
// (Unscraped), and no pod scraped.
func (s *PodScrapingSource) ScrapeSeriesReport(ctx context.Context, extra ...labels.Label) (SeriesReport, error) {
	// A call waiting for the one in progress (a hung pod holds it up to ScrapeTimeout)
	// still ends with its own context.
	select {
	case s.seriesTurn <- struct{}{}:
	case <-ctx.Done():
		return SeriesReport{}, fmt.Errorf("scrape service %s: %w (waiting for the ScrapeSeries in progress)", s.serviceKey(), ctx.Err())
	}
	defer func() { <-s.seriesTurn }()
	sj, err := s.newSeriesJob(extra)
	if err != nil {
		return SeriesReport{}, err
	}
	// A Service without a selector is an error here, not an empty answer: serve would
	// answer an empty vector, which KEDA reads as 0, for a Service that can have no
	// target at all.
	found, err := s.discover(ctx)
	if err != nil {
		return SeriesReport{}, err
	}
	targets, discovered := found.targets, found.selected
	if len(targets) == 0 && discovered > 0 {
		// The report names the pods not scraped all the same: whether one of them held
		// series (not Ready, having answered) or none did (a rollout's: terminating, or
		// starting) tells an outage from a scrape of nothing.
		sortUnscraped(found.unscraped)
		return SeriesReport{Unscraped: found.unscraped}, fmt.Errorf("scrape service %s: %w among the %d %s it selects: %s", s.serviceKey(), ErrNoReadyPods, discovered, leftout.Pods(discovered), found.noneScraped())
	}
	token, err := s.token(ctx)
	if err != nil {
		return SeriesReport{}, err
	}
	job := s.newScrapeJob(seriesSelection, token)
	job.series = sj
	pods := s.scrapeAll(ctx, targets, job)
	s.seriesCaches.keep(targets)
	s.recordMetadata(seriesSelection, pods)
	s.rememberSize(seriesSelection.key, pods)
	s.metrics.observeScrapes(pods)
	if err := ctx.Err(); err != nil {
		var waiting []string
		for i := range pods {
			if pods[i].err != nil && ScrapeReason(pods[i].err) == ReasonCanceled {
				waiting = append(waiting, pods[i].target.key)
			}
		}
		return SeriesReport{}, fmt.Errorf("scrape service %s: %w (%s)", s.serviceKey(), err, waitingFor(waiting, len(pods)))
	}
	// Returned to the caller: the pods' next scrapes need not return those points again.
	s.seriesCaches.commitPoints(pods)
	log := logr.FromContextOrDiscard(ctx)
	failed := 0
	out := make([]PodSeries, len(pods))
	for i := range pods {
		ps := &pods[i]
		switch {
		case ps.err != nil:
			failed++
			log.V(1).Info("pod scrape failed", "service", s.serviceKey(), "pod", ps.target.key,
				"reason", ScrapeReason(ps.err), "error", ps.err.Error())
		case ps.dropped > 0:
			log.V(1).Info("pod exposed samples Prometheus would not store (a repeated series: the first kept; a timestamp out of range): dropped",
				"service", s.serviceKey(), "pod", ps.target.key, "dropped", ps.dropped)
		}
		out[i] = PodSeries{
			Pod:       ps.target.name,
			UID:       ps.target.uid,
			Target:    sj.targetLabels(&ps.target),
			Up:        ps.err == nil,
			ScrapedAt: ps.scrapedAt,
			Duration:  ps.duration,
			Err:       ps.err,
			Samples:   ps.series,
		}
	}
	if len(pods) == 0 || failed < len(pods) {
		s.metrics.observeStored() // the data's age, as a refresh's results would give it
	}
	sortUnscraped(found.unscraped)
	return SeriesReport{Pods: out, Unscraped: found.unscraped}, nil
}

// seriesSelection keeps every sample; ScrapeSeries indexes no names.
var seriesSelection = &selection{key: "\x00series", all: true, index: map[string]int{}}

// seriesJob is what every pod's series builder in one ScrapeSeries shares.
type seriesJob struct {
	namespace string
	extra     []labels.Label
}

// newSeriesJob checks the extra labels of a ScrapeSeries call.
func (s *PodScrapingSource) newSeriesJob(extra []labels.Label) (*seriesJob, error) {
	taken := map[string]bool{labels.MetricName: true, "pod": true, "namespace": true, "instance": true}
	for _, key := range s.config.PodLabels {
		taken[mappedPodLabelName(key)] = true
	}
	for _, l := range extra {
		if !model.LegacyValidation.IsValidLabelName(l.Name) {
			return nil, fmt.Errorf("scrape service %s: extra label %q: %w", s.serviceKey(), l.Name, errExtraLabel)
		}
		if taken[l.Name] {
			return nil, fmt.Errorf("scrape service %s: extra label %q: %w", s.serviceKey(), l.Name, errExtraLabelTaken)
		}
		taken[l.Name] = true
	}
	return &seriesJob{namespace: s.config.ServiceNamespace, extra: extra}, nil
}

var (
	errExtraLabel      = errors.New("not a valid label name")
	errExtraLabelTaken = errors.New("a label the source sets, or given twice")
)

// added returns the labels added after the source's own (pod and the mapped pod
// labels) to every series of t: namespace, instance and the extra ones.
func (j *seriesJob) added(t *target) []labels.Label {
	out := make([]labels.Label, 0, 2+len(j.extra))
	out = append(out, labels.Label{Name: "namespace", Value: j.namespace}, labels.Label{Name: "instance", Value: t.instance()})
	return append(out, j.extra...)
}

// targetLabels are the labels of every series of t, sorted.
func (j *seriesJob) targetLabels(t *target) labels.Labels {
	var b labels.ScratchBuilder
	b.Add("pod", t.name)
	for _, l := range t.labels {
		b.Add(l.name, l.value)
	}
	for _, l := range j.added(t) {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// builder returns the series builder of one pod's scrape, with the pod's series cache
// taken from caches; done puts it back.
func (j *seriesJob) builder(t *target, caches *seriesCaches) *seriesBuilder {
	sb := &seriesBuilder{t: t, added: j.added(t)}
	sb.target = append(sb.target, labels.Label{Name: "pod", Value: t.name})
	for _, l := range t.labels {
		sb.target = append(sb.target, labels.Label{Name: l.name, Value: l.value})
	}
	sb.target = append(sb.target, sb.added...)
	sb.cache = caches.take(t.key, sb.target)
	sb.caches = caches
	return sb
}

// done returns the pod's series cache once its scrape is over, with the scrape's samples
// and metadata, whose slices the pod's next scrape reuses (ScrapeSeries has read the
// metadata by then).
func (sb *seriesBuilder) done(ok bool, samples []SeriesSample, metadata []familyMetadata) {
	sb.cache.samples, sb.cache.metadata = samples, metadata
	sb.caches.put(sb.t.key, sb.cache, ok)
}

// seriesBuilder builds one pod's series labels. Used by the pod's scrape only.
type seriesBuilder struct {
	t      *target
	target []labels.Label // pod, the mapped pod labels, then added
	added  []labels.Label // namespace, instance, the extra labels
	b      labels.ScratchBuilder
	cache  *seriesCache
	caches *seriesCaches
}

// sample returns smp as a series sample of a scrape that started at scrapedAt. smp's
// memo slot holds its series' cache entry: a memoized line (parsed without its labels)
// is found there, any other line is looked up or built and put there.
func (sb *seriesBuilder) sample(smp *exposition.Sample, scrapedAt time.Time) (SeriesSample, error) {
	var e *seriesEntry
	if smp.Memoized {
		if e, _ = (*smp.Slot).(*seriesEntry); e == nil || e.hash != smp.Hash {
			return SeriesSample{}, fmt.Errorf("series %s: memoized without its cache entry", smp.Name) // never: only entries go in slots
		}
		sb.cache.use(e)
	} else {
		e = sb.cache.entry(smp, sb.labels)
		if smp.Slot != nil {
			*smp.Slot = e
		}
	}
	out := SeriesSample{Labels: e.labels, T: scrapedAt.UnixMilli(), V: smp.Value, Ref: &e.ref}
	if smp.HasTimestamp {
		out.T = smp.TimestampMs
		out.OwnTimestamp = !time.UnixMilli(smp.TimestampMs).Equal(scrapedAt)
	}
	return out, nil
}

// labels returns smp's series labels, without the exposed labels whose value is empty,
// as Prometheus' labels.Builder drops them. An exposed label named as a target label
// takes the slower way of the label maps, which renames it as Refresh's values and the
// PromQL history do.
func (sb *seriesBuilder) labels(smp *exposition.Sample) labels.Labels {
	for _, l := range smp.Labels {
		if l.Value == "" {
			continue // no label, so no clash: Prometheus renames only a value
		}
		if l.Name == jobLabel {
			return sb.renamed(smp) // a server's scrape job sets job: exported_job
		}
		for _, t := range sb.target {
			if l.Name == t.Name {
				return sb.renamed(smp)
			}
		}
	}
	b := &sb.b
	b.Reset()
	b.Add(labels.MetricName, smp.Name)
	for _, l := range smp.Labels {
		if l.Value != "" {
			b.Add(l.Name, l.Value)
		}
	}
	for _, l := range sb.target {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// renamed builds smp's series labels through its label map, without the exposed labels
// whose value is empty: the source's own labels first (setTargetLabels renames an
// exposed pod or mapped pod label), then the added ones, each exposed label of an added
// name, and an exposed job whether or not the caller adds one, kept as exported_<name>
// (see exportedName), as the PromQL history names them (seriesLabels).
func (sb *seriesBuilder) renamed(smp *exposition.Sample) labels.Labels {
	m := make(map[string]string, len(smp.Labels)+2+len(sb.t.labels))
	for _, l := range smp.Labels {
		if l.Value != "" {
			m[l.Name] = l.Value
		}
	}
	setTargetLabels(m, sb.t.name, sb.t.labels)
	m[labels.MetricName] = smp.Name
	b := &sb.b
	b.Reset()
	for k, v := range m {
		if k == jobLabel {
			k = exportedName(m, k)
		}
		for _, l := range sb.added {
			if k == l.Name {
				k = exportedName(m, k)
				break
			}
		}
		b.Add(k, v)
	}
	for _, l := range sb.added {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// appendSynthetic appends the pod's up (1 or 0), scrape_duration_seconds and
// scrape_samples_scraped.
func (sb *seriesBuilder) appendSynthetic(ps *podScrape, up float64) {
	t := ps.scrapedAt.UnixMilli()
	values := [len(synthetic.Names)]float64{up, ps.duration.Seconds(), float64(ps.scraped)}
	for i, name := range synthetic.Names {
		e := sb.cache.syntheticEntry(i, func() labels.Labels {
			b := &sb.b
			b.Reset()
			b.Add(labels.MetricName, name)
			for _, l := range sb.target {
				b.Add(l.Name, l.Value)
			}
			b.Sort()
			return b.Labels()
		})
		ps.series = append(ps.series, SeriesSample{Labels: e.labels, T: t, V: values[i], Ref: &e.ref})
	}
}

// sortUnscraped sorts pods by name, as SeriesReport.Unscraped is.
func sortUnscraped(pods []UnscrapedPod) {
	if len(pods) > 1 {
		slices.SortFunc(pods, func(a, b UnscrapedPod) int { return strings.Compare(a.Pod, b.Pod) })
	}
}
