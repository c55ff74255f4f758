package serve_test

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestConcurrentQueriesAreBounded: a burst of queries is evaluated MaxConcurrentQueries
// at a time, as Prometheus' --query.max-concurrency bounds it (20): with every slot held,
// one more query waits for a slot and, past its timeout, answers 503 timeout, never
// evaluated. Unbounded, each query of a burst loads its samples at once and the process
// runs out of memory.
func TestConcurrentQueriesAreBounded(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	evaluating := holdEverySlot(t, srv, base, 0)

	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"vllm:num_requests_waiting"}, "timeout": {"200ms"}})
	if code != http.StatusServiceUnavailable || r.ErrorType != "timeout" {
		t.Errorf("query %d with every slot held: %d %s %q, want 503 timeout", serve.DefaultMaxConcurrentQueries+1, code, r.ErrorType, r.Error)
	}
	if n := evaluating.Load(); n != serve.DefaultMaxConcurrentQueries {
		t.Errorf("%d queries evaluated at once, want at most %d", n, serve.DefaultMaxConcurrentQueries)
	}
}

// countingZeros is a body of n zero bytes that counts what was read of it.
type countingZeros struct {
	n    int64
	read atomic.Int64
}

func (z *countingZeros) Read(p []byte) (int, error) {
	left := z.n - z.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	clear(p)
	z.read.Add(int64(len(p)))
	return len(p), nil
}

// TestMultipartBodiesAreNotRead: a multipart/form-data request (a file part of 200 MB
// here, of a gigabyte from a hostile client) to an endpoint that reads its parameters is
// not read: Go's multipart parsing keeps 32 MB of it in memory and writes the rest to
// the temporary directory (deploy/'s /tmp is a 16Mi emptyDir: past it the kubelet
// evicts the pod), for each such request at once. serve reads url-encoded forms alone,
// which Go caps at 10 MB, as /api/v1/query and series already did.
func TestMultipartBodiesAreNotRead(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/format_query"},
		{http.MethodGet, "/api/v1/format_query"},
		{http.MethodGet, "/api/v1/metadata"},
		{http.MethodGet, "/api/v1/targets"},
		{http.MethodGet, "/api/v1/label/job/values"},
		{http.MethodPost, "/api/v1/query"},
	} {
		const size = 200 << 20
		body := &countingZeros{n: size}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			part, err := mw.CreateFormFile("query", "big")
			if err == nil {
				_, err = io.Copy(part, body)
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path+"?query=up", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		pr.CloseWithError(fmt.Errorf("the request ended"))
		// Go's server reads up to 256 KB of a body left unread before it closes the
		// connection, and the loopback's socket buffers hold a few MB more.
		if n := body.read.Load(); n > 32<<20 {
			t.Errorf("%s %s with a multipart body of %d MB: read %d MB of it (%v), want none", tc.method, tc.path, size>>20, n>>20, err)
		}
	}

	// A url-encoded body of the same size: Go reads 10 MB of it, and serve answers
	// Prometheus' 400.
	for _, path := range []string{"/api/v1/query", "/api/v1/format_query", "/api/v1/series"} {
		body := &countingZeros{n: 200 << 20}
		resp, err := http.Post(base+path, "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader("query=up&match[]=up&x="), body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s with a url-encoded body of 200 MB: %d, want 400", path, resp.StatusCode)
		}
		if n := body.read.Load(); n > 32<<20 {
			t.Errorf("POST %s with a url-encoded body of 200 MB: read %d MB of it, want at most Go's 10 MB", path, n>>20)
		}
	}
}

// TestMaxSamplesBoundsAQuery: Config.MaxSamples (--query-max-samples) bounds the samples
// one query loads, as Prometheus' --query.max-samples: past it the query answers 422
// and loads no more. Before, every server had Prometheus' 50,000,000, a gigabyte for
// one query, in deploy/'s 512Mi container; and a negative bound is refused naming it.
func TestMaxSamplesBoundsAQuery(t *testing.T) {
	svc := newService(t, "vllm", 1, "# TYPE g gauge\ng{i=\"0\"} 0\ng{i=\"1\"} 1\ng{i=\"2\"} 2\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxSamples: 2})
	if code, r := query(t, base, `g{i="0"}`); code != http.StatusOK {
		t.Errorf("a query of 1 sample: %d %s %q, want 200", code, r.ErrorType, r.Error)
	}
	code, r := query(t, base, "g")
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" || !strings.Contains(r.Error, "too many samples") {
		t.Errorf("a query of 3 samples with MaxSamples 2: %d %s %q, want 422 execution, too many samples", code, r.ErrorType, r.Error)
	}
	for _, cfg := range []serve.Config{
		{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxSamples: -1},
		{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxConcurrentQueries: -1},
	} {
		if _, err := serve.New(t.Context(), env.Client, cfg); err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("New(MaxSamples %d, MaxConcurrentQueries %d): %v, want a negative bound refused", cfg.MaxSamples, cfg.MaxConcurrentQueries, err)
		}
	}
}

// holdEverySlot starts queries of srv at base that fill its MaxConcurrentQueries
// evaluation slots (DefaultMaxConcurrentQueries), each held in its querier until the
// test ends, and extra more that wait for a slot; it returns once every slot is held,
// with the count of queries that reached a querier. A query past the bound is not held,
// so that a broken bound fails the test rather than hangs it. When the test ends, the
// queries are let go, and each must answer 200.
func holdEverySlot(t *testing.T, srv *serve.Server, base string, extra int) *atomic.Int32 {
	t.Helper()
	evaluating := new(atomic.Int32)
	entered := make(chan struct{}, 2*serve.DefaultMaxConcurrentQueries+extra)
	release := make(chan struct{})
	serve.SetOnQuerier(srv, func() {
		if evaluating.Add(1) > serve.DefaultMaxConcurrentQueries {
			return
		}
		entered <- struct{}{}
		<-release
	})
	var wg sync.WaitGroup
	codes := make(chan int, serve.DefaultMaxConcurrentQueries+extra)
	for range serve.DefaultMaxConcurrentQueries + extra {
		wg.Go(func() {
			resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {"vllm:num_requests_waiting"}}.Encode())
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	t.Cleanup(func() {
		close(release)
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusOK {
				t.Errorf("a held query answered %d once released, want 200", code)
			}
		}
	})
	timeout := time.After(30 * time.Second)
	for range serve.DefaultMaxConcurrentQueries {
		select {
		case <-entered:
		case <-timeout:
			t.Fatalf("%d queries evaluating after 30s, want %d", evaluating.Load(), serve.DefaultMaxConcurrentQueries)
		}
	}
	return evaluating
}
