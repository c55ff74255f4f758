package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// The metric-name queries the check registers: one per name of the EPPs' flow-control
// queue gauge. Asking only for metric-name queries lets the parser skip every other line.
const (
	queueQuery       = "flow_control_queue_size"
	legacyQueueQuery = "flow_control_queue_size_legacy"
)

// ErrNoQueueMetric means no EPP pod exposes the flow-control queue under either name: an
// EPP without flow control, or a rename this program does not know. It is an error, not
// "nothing is waiting": scaling from zero must not wait on a metric that is not there.
var ErrNoQueueMetric = errors.New("no EPP pod exposes " + llmd.EPPFlowControlQueueSize + " or " + llmd.LegacyEPPFlowControlQueueSize)

// queueCheck answers what llm-d's scale-from-zero engine asks the EPPs every 100 ms: how
// many requests for a model wait in their flow control. It is safe for concurrent use
// (the source is).
type queueCheck struct {
	src   *pod.PodScrapingSource
	model string
}

// newQueueCheck registers the check's queries on src, a source over the EPP Service.
func newQueueCheck(src *pod.PodScrapingSource, model string) (*queueCheck, error) {
	for name, metric := range map[string]string{queueQuery: llmd.EPPFlowControlQueueSize, legacyQueueQuery: llmd.LegacyEPPFlowControlQueueSize} {
		if err := src.QueryList().Register(source.QueryTemplate{Name: name, Type: source.QueryTypeMetricName, Template: metric}); err != nil {
			return nil, err
		}
	}
	return &queueCheck{src: src, model: model}, nil
}

// pending scrapes the EPPs once and returns the requests for the model waiting in their
// flow control. It returns an error, never 0, when it cannot know: every pod failed,
// some pod failed (its queue is unknown), or no pod exposes the metric.
func (c *queueCheck) pending(ctx context.Context) (float64, error) {
	results, err := c.src.Refresh(ctx, source.RefreshSpec{Queries: []string{queueQuery, legacyQueueQuery}})
	if err != nil {
		return 0, fmt.Errorf("scrape the EPPs' flow-control queue: %w", err)
	}
	return pendingFor(results[queueQuery], results[legacyQueueQuery], c.model)
}

// pendingFor sums the flow-control queue of model (target_model_name) over the EPP pods,
// reading each series under its current name, else, series by series, under the
// deprecated one: an EPP emitting both counts once, an EPP from before the rename
// counts too, and a current-name zero wins over a stale legacy value.
func pendingFor(current, legacy *source.MetricResult, model string) (float64, error) {
	if current == nil || legacy == nil {
		return 0, errors.New("the refresh returned no flow-control queue result")
	}
	if current.HasError() {
		return 0, fmt.Errorf("the EPPs' flow-control queue is unknown: %w", current.Error)
	}
	seen := map[string]bool{}
	total, found := 0.0, false
	add := func(v *source.MetricValue) {
		if v.Labels["target_model_name"] == model {
			total += v.Value
		}
	}
	for i := range current.Values {
		v := &current.Values[i]
		if v.Labels["__name__"] != llmd.EPPFlowControlQueueSize {
			continue // the pods' up
		}
		found = true
		seen[seriesKey(v.Labels)] = true
		add(v)
	}
	for i := range legacy.Values {
		v := &legacy.Values[i]
		if v.Labels["__name__"] != llmd.LegacyEPPFlowControlQueueSize {
			continue
		}
		found = true
		if !seen[seriesKey(v.Labels)] {
			add(v)
		}
	}
	if !found {
		return 0, ErrNoQueueMetric
	}
	return total, nil
}

// seriesKey identifies a series by its labels but its name (the pod's included).
func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}
