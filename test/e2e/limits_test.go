package e2e

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source/pod"
)

func TestLimitsBodyOverDefaultCapFailsThatPodOnly(t *testing.T) {
	t.Parallel()
	// 17 MiB of valid samples: over the 16 MiB default.
	var big bytes.Buffer
	pad := strings.Repeat("x", 1000)
	for i := 0; big.Len() <= 17<<20; i++ {
		fmt.Fprintf(&big, "padding_metric{i=\"%d\",pad=\"%s\"} 1\n", i, pad)
	}
	f := startService(t, podDef{name: "big", handler: serve(big.Bytes())}, podDef{name: "small", handler: serve([]byte("m 1\n"))})
	results, err := refresh(t, newSource(t, f.config()))
	if err != nil {
		t.Fatal(err)
	}
	r := results[pod.AllMetricsQuery]
	errs := scrapeErrors(t, r.Error)
	if !errors.Is(errs["big"], pod.ErrBodyTooLarge) || !strings.Contains(errs["big"].Error(), "16777216") {
		t.Fatalf("big: got %v, want ErrBodyTooLarge naming the 16777216-byte limit", errs["big"])
	}
	if got := upByPod(r); got["small"] != 1 || got["big"] != 0 {
		t.Fatalf("up: got %v, want small 1 and big 0", got)
	}
}

// The pod serves the exposition gzip-encoded (a few KiB on the wire): the cap counts the
// bytes decompressed, so one under the exposition's size fails the pod and its size
// passes, whatever the wire's size.
func TestLimitsBodyCapCountsDecompressedBytes(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(vllm)
	_ = zw.Close()
	if zipped.Len() >= len(vllm)-1 {
		t.Fatalf("the fixture compresses to %d bytes, not under its %d: the test would not tell the two apart", zipped.Len(), len(vllm))
	}
	f := startService(t, podDef{name: "p", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textFormat)
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	})})
	cfg := f.config()
	cfg.MaxBodyBytes = int64(len(vllm)) - 1
	results, err := refresh(t, newSource(t, cfg))
	if !errors.Is(err, pod.ErrBodyTooLarge) {
		t.Fatalf("one byte under the body: got %v, want ErrBodyTooLarge", err)
	}
	if upByPod(results[pod.AllMetricsQuery])["p"] != 0 {
		t.Fatal("up: want 0")
	}
	cfg.MaxBodyBytes = int64(len(vllm))
	if r := mustRefresh(t, newSource(t, cfg)); r.Error != nil {
		t.Fatalf("exactly the body size: got %v, want success", r.Error)
	}
}

func TestLimitsSampleLimit(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve([]byte("a 1\nb 2\nc 3\n"))})
	cfg := f.config()
	cfg.SampleLimit = 2
	if _, err := refresh(t, newSource(t, cfg)); !errors.Is(err, pod.ErrSampleLimit) {
		t.Fatalf("3 samples over a limit of 2: got %v, want ErrSampleLimit", err)
	}
	cfg.SampleLimit = 3
	if r := mustRefresh(t, newSource(t, cfg)); r.Error != nil {
		t.Fatalf("3 samples within a limit of 3: got %v", r.Error)
	}
}

func TestLimitsRedirectNotFollowedTokenNotLeaked(t *testing.T) {
	t.Parallel()
	elsewhere := &recorder{body: []byte("stolen 1\n")}
	other := startService(t, podDef{name: "elsewhere", handler: elsewhere})
	target := other.servers["elsewhere"].URL() + "/metrics"
	f := startService(t, podDef{name: "redirector", handler: http.RedirectHandler(target, http.StatusFound)})
	cfg := f.config()
	cfg.BearerToken = "secret-token-value"
	_, err := refresh(t, newSource(t, cfg))
	if !errors.Is(err, pod.ErrRedirect) {
		t.Fatalf("Refresh: got %v, want ErrRedirect", err)
	}
	if !strings.Contains(err.Error(), target) {
		t.Fatalf("error %q: want it to name the redirect target", err)
	}
	if strings.Contains(err.Error(), "secret-token-value") {
		t.Fatalf("error %q: leaks the token", err)
	}
	if n := len(elsewhere.seen()); n != 0 {
		t.Fatalf("redirect target saw %d requests, want 0", n)
	}
}
