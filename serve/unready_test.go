package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// podGets is a reader that counts its Gets of a Pod.
type podGets struct {
	client.Reader
	n atomic.Int64
}

func (r *podGets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Pod); ok {
		r.n.Add(1)
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// TestUnreadyPodsCostNoReadEach: serve learns which pods it did not scrape, and why,
// from the scrape's own discovery: a pod turned not Ready costs no Get of it, neither at
// each scrape (its warning) nor at each query (the 503 of a selector only it holds).
func TestUnreadyPodsCostNoReadEach(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	reader := &podGets{Reader: env.Client}
	srv, base := runServerWith(t, t.Context(), reader, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	waitReady(t, srv)
	const all, ofB = `sum(vllm:num_requests_waiting)`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("healthy: got %d %q %q, want 200 and no warning", code, r.Error, r.Warnings)
	}
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") {
			t.Fatalf("pod %s not Ready: got %d %q %q, want 200 warning of it", b.Name, code, r.Error, r.Warnings)
		}
		if code, r := query(t, base, ofB); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
			t.Fatalf("model b's only pod not Ready: got %d %q, want 503 naming it", code, r.Error)
		}
	}
	if n := reader.n.Load(); n != 0 {
		t.Errorf("serve read pods by Get %d times, want none: the scrape's discovery says which pods it left out", n)
	}
}

// TestRecreatedPodIsNotWarnedOf: a pod deleted and created again under its name (a
// StatefulSet's), starting, is another pod, which never held the series: as the
// library, serve neither warns of it as not Ready nor answers 503 for a selector only
// the pod it replaced held. Once it has answered, its turning not Ready is warned of.
func TestRecreatedPodIsNotWarnedOf(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const all, ofA = `sum(vllm:num_requests_waiting)`, `sum(vllm:num_requests_waiting{model_name="a"})`
	if code, r := query(t, base, ofA); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}
	if err := a.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := svc.AddPod(t.Context(), a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 0 || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "1" {
		t.Errorf("pod %s recreated, starting: got %d %q %s warnings %q, want 200, pod %s's 1 and no warning", a.Name, code, r.Error, r.Data, r.Warnings, b.Name)
	}
	if code, r := query(t, base, ofA); code != http.StatusOK || len(r.Warnings) != 0 || string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("model a's only pod recreated, starting: got %d %q %s warnings %q, want 200 and the empty answer", code, r.Error, r.Data, r.Warnings)
	}

	// The new pod answers, then turns not Ready: that pod is warned of.
	if err := again.SetReady(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, all); code != http.StatusOK || vector(t, r)[0].Value[1] != "4" {
		t.Fatalf("pod %s recreated, Ready: got %d %q %s, want 200 and 4", a.Name, code, r.Error, r.Data)
	}
	if err := again.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+a.Name+": not Ready") {
		t.Errorf("pod %s recreated, answered, then not Ready: got %d %q warnings %q, want 200 and a warning naming it", a.Name, code, r.Error, r.Warnings)
	}
}

// TestWarningsCountPodsInEnglish: a warning of one pod speaks of one pod ("1 pods ...
// are" before), of more in the plural.
func TestWarningsCountPodsInEnglish(t *testing.T) {
	svc := newService(t, "vllm", 5, waiting)
	p := svc.Pods()
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("healthy: got %d %q %q, want 200 and no warning", code, r.Error, r.Warnings)
	}
	for _, step := range []struct {
		failing, unready *podscrapetest.Pod
		want             []string
	}{
		{p[0], p[1], []string{
			": 1 of 4 pods failed its latest scrape at ", ", the answer leaves it out: pod " + p[0].Name + ": ",
			": 1 pod holding series the query reads is no longer scraped (as of the latest scrape at ", ", the answer leaves it out: pod " + p[1].Name + ": not Ready",
		}},
		{p[2], p[3], []string{
			": 2 of 3 pods failed their latest scrape at ", ", the answer leaves them out: pod " + p[0].Name + ": ",
			": 2 pods holding series the query reads are no longer scraped (as of the latest scrape at ", ", the answer leaves them out: pod " + p[1].Name + ": not Ready; pod " + p[3].Name + ": not Ready",
		}},
	} {
		step.failing.SetHandler(failing)
		if err := step.unready.SetReady(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		code, r := query(t, base, expr)
		w := strings.Join(r.Warnings, "\n")
		if code != http.StatusOK || len(r.Warnings) != 2 {
			t.Fatalf("pod %s failing, pod %s not Ready: got %d %q warnings %q, want 200 and two warnings", step.failing.Name, step.unready.Name, code, r.Error, r.Warnings)
		}
		for _, want := range step.want {
			if !strings.Contains(w, want) {
				t.Errorf("pod %s failing, pod %s not Ready: warnings %q, want %q in them", step.failing.Name, step.unready.Name, r.Warnings, want)
			}
		}
	}
}

// TestSumOverTimeOfAPodNoLongerScrapedIsPartial: a window adding up over time over the
// series of a pod that answered before and turned not Ready (under a burst, still
// completing the requests it holds) holds nothing of that pod since: the scale-to-zero
// count sum(increase(reqs[2m])) is a lower bound, not "idle". An instant query answers
// 422 naming the pod, as the library's ErrPartialWindow, where it answered 200 with a
// warning that KEDA and the HPA's adapter never read; a rate over the same series keeps
// the warning, and so does a range query (a dashboard's steps before the pod turned not
// Ready are whole) and --allow-partial-windows. Ready again, the pod is scraped and the
// answer is whole.
func TestSumOverTimeOfAPodNoLongerScrapedIsPartial(t *testing.T) {
	svc := newService(t, "vllm", 2, "# TYPE reqs_total counter\nreqs_total 0\n")
	a, b := svc.Pods()[0], svc.Pods()[1]
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour, Retention: 30 * time.Minute}
	srv, base := runReadyServer(t, cfg)
	cfg.AllowPartialWindows = true
	allowing, allowBase := runReadyServer(t, cfg)
	began := time.Now().Add(-10 * time.Minute)
	reqs := func(at time.Time) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %d\n", int(at.Sub(began).Seconds()))
	}
	for _, s := range []*serve.Server{srv, allowing} {
		scrapedInThePast(t, s, 0, b, began, time.Now(), 15*time.Second, reqs)
	}
	const count, rate = "sum(increase(reqs_total[2m]))", "sum(rate(reqs_total[2m]))"
	if code, r := query(t, base, count); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("both pods Ready: %s: got %d %q %q, want 200 and no warning", count, code, r.Error, r.Warnings)
	}

	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	code, r := query(t, base, count)
	if want := "partial window: increase(reqs_total[2m]) adds up series of 1 pod service " + svc.Namespace + "/vllm no longer scrapes"; code != http.StatusUnprocessableEntity ||
		r.ErrorType != "execution" || !strings.Contains(r.Error, want) || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
		t.Errorf("pod %s not Ready: %s: got %d %s %q, want 422 execution containing %q and naming the pod", b.Name, count, code, r.ErrorType, r.Error, want)
	}
	if code, r := query(t, base, rate); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") {
		t.Errorf("pod %s not Ready: %s: got %d %q %q, want 200 and the warning naming it", b.Name, rate, code, r.Error, r.Warnings)
	}
	now := time.Now()
	ranged := url.Values{"query": {count}, "start": {fmt.Sprint(now.Add(-time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"15"}}
	if code, r := call(t, http.MethodGet, base, "/api/v1/query_range", ranged); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") {
		t.Errorf("pod %s not Ready: %s over the last minute: got %d %q %q, want 200 and the warning naming it", b.Name, count, code, r.Error, r.Warnings)
	}
	if code, r := query(t, allowBase, count); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") {
		t.Errorf("pod %s not Ready, --allow-partial-windows: %s: got %d %q %q, want 200 and the warning naming it", b.Name, count, code, r.Error, r.Warnings)
	}
	if code, r := query(t, base, `sum(increase(reqs_total{pod="`+a.Name+`"}[2m]))`); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("pod %s not Ready: the count of pod %s alone: got %d %q %q, want 200 and no warning", b.Name, a.Name, code, r.Error, r.Warnings)
	}

	if err := b.SetReady(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, count); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("pod %s Ready again: %s: got %d %q %q, want 200 and no warning", b.Name, count, code, r.Error, r.Warnings)
	}
}

// TestSumOverTimeAtAScrapeOfAPodNotReadyIsPartial: an instant query's window adding up
// over time, at a time that reads a scrape in which pod b was not Ready (its series
// stale there), asked once a later scrape found b Ready again (KEDA's time to the
// second, in the second after that scrape). The window holds nothing of b since its
// last scrape before, as when that scrape is the latest, which is 422: it was answered
// 200, the check having read only the latest scrape, where b answers.
func TestSumOverTimeAtAScrapeOfAPodNotReadyIsPartial(t *testing.T) {
	svc := newService(t, "vllm", 2, "# TYPE reqs_total counter\nreqs_total 0\n")
	b := svc.Pods()[1]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute, Retention: 30 * time.Minute})
	began := time.Now().Add(-10 * time.Minute)
	reqs := func(at time.Time) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %d\n", int(at.Sub(began).Seconds()))
	}
	scrapedInThePast(t, srv, 0, b, began, time.Now(), 15*time.Second, reqs)
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	serve.ScrapeNow(t.Context(), srv) // read at the query's time: b not Ready, its series stale
	const count = "sum(increase(reqs_total[2m]))"
	if code, r := query(t, base, count); code != http.StatusUnprocessableEntity {
		t.Fatalf("pod %s not Ready: %s: got %d %q, want 422 (the test's premise)", b.Name, count, code, r.Error)
	}
	at := time.Now()
	if err := b.SetReady(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // the latest, ending after the query's time: b answers
		t.Fatal(err)
	}
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {count}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
		t.Errorf("%s at %s, which reads the scrape in which pod %s was not Ready: got %d %s %q %s with warnings %q, want 422 execution naming the pod",
			count, at, b.Name, code, r.ErrorType, r.Error, r.Data, r.Warnings)
	}
}
