package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// A pod over SampleLimit fails alone, as Prometheus' sample_limit fails its target: the
// other pods' samples are all kept. As in Prometheus, whose scrape loop reads on past
// the limit "so we report the correct total number of samples scraped", the pod's
// scrape_samples_scraped is every sample it exposes (it was 0), and the error says how
// many beside the limit, naming the pod: an operator sees by how much to raise it. A
// pod exactly at the limit is scraped.
func TestSampleLimitFailsThePodOverItAlone(t *testing.T) {
	const limit = 3
	ctx := context.Background()
	ns := fmt.Sprintf("samplelimit-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	bodies := map[string]string{ // by pod
		"at":   "a 1\nb 1\nc 1\n",
		"over": "a 1\nb 1\nc 1\n# HELP d D.\nd 1\ne 1\n",
	}
	ips := map[string]string{}
	var list []string
	for name := range bodies {
		ips[name] = block.Next()
		list = append(list, ips[name])
	}
	port, sel := servePods(t, ctx, ns, "limited", list, func(ip string) http.Handler {
		var body string
		for name, b := range bodies {
			if ips[name] == ip {
				body = b
			}
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(body))
		})
	})
	for name, ip := range ips {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "limited", ServiceNamespace: ns, MetricsPort: port, SampleLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for range 2 { // the second through the pods' series caches and memos
		pods, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "limited"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) != 2 {
			t.Fatalf("got %d pods, want 2", len(pods))
		}
		for _, p := range pods {
			scraped := -1.0
			var names []string
			for _, smp := range p.Samples {
				name := smp.Labels.Get(labels.MetricName)
				names = append(names, name)
				if name == "scrape_samples_scraped" {
					scraped = smp.V
				}
			}
			switch p.Pod {
			case "at":
				if !p.Up || len(p.Samples) != limit+3 {
					t.Errorf("pod at the limit: up %v (%v), samples %v; want it up with its %d samples", p.Up, p.Err, names, limit)
				}
				if scraped != limit {
					t.Errorf("pod at the limit: scrape_samples_scraped %v, want %d", scraped, limit)
				}
			case "over":
				msg := fmt.Sprint(p.Err)
				if p.Up || !errors.Is(p.Err, ErrSampleLimit) || !strings.Contains(msg, "pod "+ns+"/over") ||
					!strings.Contains(msg, "5 samples, more than the limit of 3") {
					t.Errorf("pod over the limit: up %v, error %q; want it down with ErrSampleLimit naming the pod, its 5 samples and the limit 3", p.Up, msg)
				}
				if scraped != 5 {
					t.Errorf("pod over the limit: scrape_samples_scraped %v, want 5, every sample it exposes, as Prometheus reports it", scraped)
				}
				if len(p.Samples) != 3 {
					t.Errorf("pod over the limit: samples %v, want only up, scrape_duration_seconds and scrape_samples_scraped", names)
				}
			}
		}
	}
}
