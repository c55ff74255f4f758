package source

import (
	"errors"
	"testing"
)

// A source that writes no up samples (the Prometheus source) still answers a pod's
// values: having values is checked before having been scraped.
func TestPodValuesWithoutUpSamples(t *testing.T) {
	r := &MetricResult{Values: []MetricValue{sample("queue", "a", 3), sample("queue", "b", 5)}}
	values, err := r.PodValues("a", "queue")
	if err != nil || len(values) != 1 || values[0].Value != 3 {
		t.Fatalf("PodValues(a, queue) of a result without up samples: got %v, %v; want [3], nil", values, err)
	}
	if _, err := r.PodValues("c", "queue"); !errors.Is(err, ErrPodNotScraped) {
		t.Fatalf("PodValues(c, queue): got %v, want ErrPodNotScraped", err)
	}
	// A pod with values and an up of 0 (a stale pair a merged result may hold) still
	// answers its values.
	mixed := &MetricResult{Values: []MetricValue{sample("queue", "a", 3), sample(MetricUp, "a", 0)}}
	if values, err := mixed.PodValues("a", "queue"); err != nil || len(values) != 1 {
		t.Fatalf("PodValues(a, queue) with values and up 0: got %v, %v; want [3], nil", values, err)
	}
}
