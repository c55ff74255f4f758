package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
)

// metricSum sums the samples of name whose line holds every one of labels, in the
// Prometheus text of body.
func metricSum(body, name string, labels ...string) float64 {
	var sum float64
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		matched := true
		for _, l := range labels {
			matched = matched && strings.Contains(line, l)
		}
		if matched {
			f, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), 64)
			sum += f
		}
	}
	return sum
}

// podLists is the API server's count of namespaced pod LISTs since it started.
func podLists(t *testing.T, cs *kubernetes.Clientset) float64 {
	t.Helper()
	body, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return metricSum(string(body), "apiserver_request_total", `verb="LIST"`, `resource="pods"`, `scope="namespace"`)
}

// serveScrapes reads podscrape_serve_scrapes_total from serve's /metrics.
func serveScrapes(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return metricSum(string(body), "podscrape_serve_scrapes_total")
}

// TestServeListsNoPodsPerScrape runs the CLI and reads the API server's own request
// counts: while serve scrapes 20 times, the pod LISTs the API server answers (serve's
// and, were any running, other clients') stay far below one a scrape: the CLI reads pods
// from its informers. Not parallel: no other test of the package lists pods meanwhile.
func TestServeListsNoPodsPerScrape(t *testing.T) {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, llmd.VLLMService, "--port", strconv.Itoa(int(llmd.VLLMPort)), "--interval", "20ms")
	deadline := time.Now().Add(30 * time.Second)
	for serveScrapes(t, base) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("serve did not scrape in 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling serve's first scrape
	}
	lists, scrapes := podLists(t, cs), serveScrapes(t, base)
	for serveScrapes(t, base) < scrapes+20 {
		if time.Now().After(deadline) {
			t.Fatal("serve did not scrape 20 times in 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling serve's scrape count
	}
	got := podLists(t, cs) - lists
	t.Logf("pod LISTs on the API server during 20 scrapes of serve: %v", got)
	if got >= 10 {
		t.Errorf("pod LISTs on the API server during 20 scrapes of serve: %v, want none from serve (its informers)", got)
	}
}
