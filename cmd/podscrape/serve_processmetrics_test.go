package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// serve's /metrics carries the process' own metrics beside serve's, as a Prometheus
// server and a controller-runtime manager expose theirs: an operator alerting on serve's
// memory, goroutines or open files reads them there, not only from the container's.
func TestServeMetricsHoldTheProcessAndGoRuntime(t *testing.T) {
	base := startServe(t, llmd.VLLMService, "--port", strconv.Itoa(int(llmd.VLLMPort)))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"process_resident_memory_bytes", "process_open_fds", "go_goroutines", "go_memstats_heap_inuse_bytes", "podscrape_serve_scrapes_total"} {
		if !strings.Contains(string(body), "\n"+name+" ") && !strings.Contains(string(body), "\n"+name+"{") {
			t.Errorf("serve's /metrics has no %s", name)
		}
	}
}
