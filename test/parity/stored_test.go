package parity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// storedExposition is one pod's exposition in TestSeriesStoredAsPrometheus.
type storedExposition struct {
	pod, contentType, body string
}

const (
	textType = "text/plain; version=0.0.4; charset=utf-8"
	omType   = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// handWritten are expositions of the forms the fixtures lack: bucket bounds and
// quantiles spelled as integers, exponents and infinities, an untyped and a gauge
// histogram's le (not rewritten), empty label values, UTF-8 names, NaN and ±Inf, a
// repeated series, info, stateset, # UNIT, exemplars, a family without samples, and a
// label job of the pod's own (the server's scrape job takes the name: exported_job).
var handWritten = []storedExposition{
	// An OpenMetrics version Prometheus reads as 1.0.0.
	{"hand-om-version", "application/openmetrics-text; version=0.0.2; charset=utf-8", "# TYPE v counter\nv_total{a=\"b\"} 1\n# EOF\n"},
	{"hand-text", textType, `# TYPE h histogram
h_bucket{le="0.5"} 0
h_bucket{le="1"} 1
h_bucket{le="1e3"} 2
h_bucket{le="10.0"} 2
h_bucket{le="+Inf"} 3
h_sum 4
h_count 3
# TYPE hinf histogram
hinf_bucket{le="inf"} 1
hinf_bucket{le="-Inf"} 0
hinf_bucket{le="0x1p-2"} 0
hinf_bucket{le="1_000"} 0
hinf_bucket{le="Infinity"} 0
hinf_bucket{le="nan"} 0
hinf_sum 1
hinf_count 1
# TYPE s summary
s{quantile="0.50"} 1
s{quantile="1"} 2
s{quantile="1e-1"} 3
s{quantile="0.99",a=""} 4
s_sum 1
s_count 2
# TYPE u untyped
u{le="1"} 1
u{quantile="1"} 1
# TYPE g gauge
g{le="1"} 1
x{a="",b="1"} 1
{"dotted.name","label.with.dot"="v"} 2
{"é"} 3
nan_gauge NaN
pinf +Inf
ninf -Inf
max_float 1.7976931348623157e+308
dup 1
dup 2
dup{z=""} 3
# HELP nosamples A family without samples.
# TYPE nosamples gauge
# HELP esc A help with a backslash \\ and a line\nbreak and \q "quotes".
# TYPE esc counter
esc_total 1
dunder{__x="1",__address__="a"} 1
exp{instance="i",namespace="n",exported_instance="e",pod="p",exported_pod=""} 1
jobbed{job="batch"} 1
jobbed{job="other",exported_job="x"} 2
# HELP helponly Only help.
helponly 2
# TYPE typeonly summary
typeonly_count 1
`},
	{"hand-om", omType, `# TYPE h histogram
# HELP h A histogram.
h_bucket{le="0.5"} 0
h_bucket{le="1"} 1 # {trace_id="a"} 0.7
h_bucket{le="1e3"} 2
h_bucket{le="+Inf"} 3 # {trace_id="b"} 2000 1.5e9
h_count 3
h_sum 4
h_created 1.7e9
# TYPE gh gaugehistogram
gh_bucket{le="1"} 1
gh_bucket{le="+Inf"} 2
gh_gcount 2
gh_gsum 3
# TYPE s summary
s{quantile="0.50"} 1
s{quantile="1"} 2
s_sum 1
s_count 2
s_created 1.7e9
# TYPE i info
i_info{version="1"} 1
# TYPE ss stateset
ss{ss="a"} 1
ss{ss="b"} 0
# TYPE x_seconds gauge
# UNIT x_seconds seconds
x_seconds 1
# TYPE c counter
c_total{a=""} 5
c_created 1.7e9
# TYPE "dotted.om" gauge
{"dotted.om",a="b"} 1
# TYPE nan gauge
nan NaN
ninf -Inf
# TYPE empty gauge
# HELP empty No samples.
# HELP esc A help with a backslash \\ and a line\nbreak and \" quotes.
# TYPE esc counter
esc_total 1
# TYPE u_bytes unknown
# UNIT u_bytes bytes
u_bytes 1
# EOF
`},
}

// TestSeriesStoredAsPrometheus has the real Prometheus server and a pod source scrape
// the same pods, each exposing one of the shared fixtures (every real program's
// exposition of testdata/, in the format it was captured in) or one of handWritten, and
// compares every series, label for label and value for value: what ScrapeSeries returns
// (what serve stores) and what a PromQL query of the source's history answers, against
// the series Prometheus answers for {__name__=~".+"} at the same instant. Prometheus'
// job label is dropped from its own series (the scrape config drops it from the scraped
// ones); of its per-target series, those podscrape does not write are left out, and
// scrape_duration_seconds is compared by its labels only.
func TestSeriesStoredAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	expositions := slices.Clone(handWritten)
	files, err := filepath.Glob("../../testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ct := textType
		if strings.HasSuffix(f, ".om.txt") || strings.HasPrefix(filepath.Base(f), "openmetrics") {
			ct = omType
		}
		expositions = append(expositions, storedExposition{fmt.Sprintf("fixture-%d", i), ct, string(b)})
		t.Logf("fixture-%d: %s", i, filepath.Base(f))
	}
	byPod := map[string]storedExposition{}
	names := make([]string, len(expositions))
	for i, e := range expositions {
		names[i] = e.pod
		byPod[e.pod] = e
	}
	const all = `{__name__=~".+"}`
	sc := startScene(t, ctx, sceneSpec{
		prefix: "stored", names: names, queries: map[string]string{"all": all},
		handler: func(name string) http.Handler {
			e := byPod[name]
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", e.contentType)
				_, _ = w.Write([]byte(e.body))
			})
		},
	})
	waitScraped(t, ctx, sc.prom, time.Now(), len(names))
	pods, err := sc.src.ScrapeSeries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results, err := sc.src.Refresh(ctx, source.RefreshSpec{Queries: []string{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	at := results["all"].CollectedAt
	waitScraped(t, ctx, sc.prom, at, len(names))
	v, _, _, err := sc.prom.API.Query(ctx, all, at)
	if err != nil {
		t.Fatal(err)
	}
	want := storedSeries(theirs(v))

	fromSeries, seen := series{}, map[string]bool{}
	for _, p := range pods {
		if !p.Up {
			t.Errorf("pod %s: %v", p.Pod, p.Err)
		}
		for _, s := range p.Samples {
			// A store keeps the first sample of a series (m and m{a=""} are one).
			if k := labelText(s.Labels.Map()); !seen[k] {
				seen[k] = true
				fromSeries[k] = s.V
			}
		}
	}
	compareStored(t, "ScrapeSeries", storedSeries(fromSeries), want)
	compareStored(t, "the PromQL history", storedSeries(ours(results["all"])), want)

	// podscrape serve on the same Service: /api/v1/series and /api/v1/metadata as the
	// server's.
	base := startServe(t, ctx, sc)
	for _, path := range []string{"/api/v1/series?match[]=" + url.QueryEscape(all), "/api/v1/metadata"} {
		got, want := apiData(t, base+path), apiData(t, sc.prom.URL+path)
		if strings.HasPrefix(path, "/api/v1/series") {
			got, want = seriesSet(got), seriesSet(want)
		} else {
			// A family's entries come in the order of Prometheus' targets: a map's.
			sortEntries(got)
			sortEntries(want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n%s", path, jsonDiff(got, want))
		}
	}
	// Selectors at the edges, on every endpoint that takes match[]: the same status and
	// error, or the same data.
	for _, m := range []string{"", "{}", `{a=""}`, `{__name__=""}`, `{__name__=~".*"}`, `{__name__!=""}`, `{"hand.dotted"}`, `{"dotted.name"}`, `up{}`, "up", `{pod=~".+"}`, `{pod!~".+"}`, `nosuch`} {
		for _, path := range []string{"/api/v1/series", "/api/v1/labels", "/api/v1/label/pod/values", "/api/v1/label/__name__/values"} {
			u := path + "?" + url.Values{"match[]": {m}}.Encode()
			sc1, sb := rawAPI(t, base+u)
			pc, pb := rawAPI(t, sc.prom.URL+u)
			if sc1 != pc || sb.Status != pb.Status || sb.Error != pb.Error {
				t.Errorf("%s: serve %d %s %q, prometheus %d %s %q", u, sc1, sb.Status, sb.Error, pc, pb.Status, pb.Error)
				continue
			}
			if sb.Status != "success" {
				continue
			}
			var got, want any = sb.Data, pb.Data
			if path == "/api/v1/series" {
				got, want = seriesSet(got), seriesSet(want)
			} else {
				got, want = withoutJob(got), withoutJob(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n%s", u, jsonDiff(got, want))
			}
		}
		u := "/federate?" + url.Values{"match[]": {m}}.Encode()
		sr, err := http.Get(base + u)
		if err != nil {
			t.Fatal(err)
		}
		sbody, _ := io.ReadAll(sr.Body)
		sr.Body.Close()
		pr, err := http.Get(sc.prom.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		pbody, _ := io.ReadAll(pr.Body)
		pr.Body.Close()
		if sr.StatusCode != pr.StatusCode || (sr.StatusCode != http.StatusOK && string(sbody) != string(pbody)) {
			t.Errorf("%s: serve %d %q, prometheus %d %q", u, sr.StatusCode, sbody, pr.StatusCode, pbody)
			continue
		}
		if sr.StatusCode == http.StatusOK {
			if got, want := federated(t, base+u, ""), federated(t, sc.prom.URL+u, ""); !maps.Equal(got, want) {
				t.Errorf("%s: serve %d lines, prometheus %d", u, len(got), len(want))
			}
		}
	}

	// /federate, as a client asks without Accept and as a federating Prometheus 3 asks.
	for _, accept := range []string{"", "text/plain;version=1.0.0;escaping=allow-utf-8"} {
		path := "/federate?match[]=" + url.QueryEscape(all)
		got, want := federated(t, base+path, accept), federated(t, sc.prom.URL+path, accept)
		if !maps.Equal(got, want) {
			var only []string
			for l := range want {
				if !got[l] {
					only = append(only, "prometheus: "+l)
				}
			}
			for l := range got {
				if !want[l] {
					only = append(only, "serve:      "+l)
				}
			}
			slices.Sort(only)
			t.Errorf("/federate, Accept %q: %d lines, Prometheus %d:\n%s", accept, len(got), len(want), strings.Join(only, "\n"))
		}
	}
}

// federated is the lines of a /federate answer, timestamps and job labels removed, the
// per-target series podscrape does not write and scrape_duration_seconds left out.
func federated(t *testing.T, url, accept string) map[string]bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", url, resp.StatusCode, err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, "scrape_samples_post_metric_relabeling") || strings.Contains(line, "scrape_series_added") || strings.Contains(line, "scrape_duration_seconds") || line == "" {
			continue
		}
		line = strings.NewReplacer(`job="vllm",`, "", `,job="vllm"`, "", `{job="vllm"}`, "").Replace(line)
		if !strings.HasPrefix(line, "#") {
			line = line[:strings.LastIndexByte(line, ' ')] // the timestamp
		}
		out[line] = true
	}
	return out
}

// startServe runs podscrape serve on the scene's Service (scraped every 4 minutes: the
// first scrape alone during a test) and returns its URL once it is ready.
func startServe(t *testing.T, ctx context.Context, sc scene) string {
	t.Helper()
	return startServeWith(t, ctx, sc, nil)
}

// startServeWith is startServe with serve's configuration (its one Service's source
// included) edited by edit.
func startServeWith(t *testing.T, ctx context.Context, sc scene, edit func(*serve.Config)) string {
	t.Helper()
	cfg := serve.Config{
		Services: []serve.ServiceConfig{{Source: pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: sc.ns, MetricsPort: int32(sc.port)}}},
		Interval: 4 * time.Minute, // within the default lookback delta and retention
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := serve.New(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(runCtx) }()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		stop()
		<-done
		_ = srv.Close()
	})
	for !srv.Ready() {
		select {
		case <-ctx.Done():
			t.Fatal("serve not ready:", ctx.Err())
		case <-time.After(20 * time.Millisecond): // polling readiness
		}
	}
	return hs.URL
}

// apiAnswer is Prometheus' API envelope, its data decoded generically.
type apiAnswer struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
	Error  string `json:"error"`
}

// rawAPI asks url and returns the status code and the decoded envelope.
func rawAPI(t *testing.T, url string) (int, apiAnswer) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("%s: %d %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, e
}

// withoutJob is a list of names or values without "job" and "vllm" (serve's job label
// and its value, which the test's Prometheus drops from the scraped series), and
// without the per-target series podscrape does not write.
func withoutJob(data any) any {
	list, _ := data.([]any)
	out := []any{}
	for _, x := range list {
		switch x {
		case "job", "vllm", "scrape_samples_post_metric_relabeling", "scrape_series_added":
			continue
		}
		out = append(out, x)
	}
	return out
}

// apiData is the data of an API answer of url, decoded generically.
func apiData(t *testing.T, url string) any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Status string `json:"status"`
		Data   any    `json:"data"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Status != "success" {
		t.Fatalf("%s: %d %v %s", url, resp.StatusCode, err, e.Error)
	}
	return e.Data
}

// sortEntries sorts each family's entries of a /api/v1/metadata answer.
func sortEntries(data any) {
	m, _ := data.(map[string]any)
	for _, v := range m {
		list, _ := v.([]any)
		slices.SortFunc(list, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	}
}

// seriesSet is the label sets of a /api/v1/series answer as labelTexts, job and the
// per-target series podscrape does not write left out.
func seriesSet(data any) any {
	out := map[string]bool{}
	list, _ := data.([]any)
	for _, x := range list {
		m := map[string]string{}
		for k, v := range x.(map[string]any) {
			if k != "job" {
				m[k] = v.(string)
			}
		}
		if n := m["__name__"]; n == "scrape_samples_post_metric_relabeling" || n == "scrape_series_added" {
			continue
		}
		out[labelText(m)] = true
	}
	return out
}

// jsonDiff shows what only got and only want have of two generic JSON values (maps
// compared key by key).
func jsonDiff(got, want any) string {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if g, ok := got.(map[string]bool); ok {
		gm, gok = map[string]any{}, true
		for k := range g {
			gm[k] = true
		}
		w := want.(map[string]bool)
		wm, wok = map[string]any{}, true
		for k := range w {
			wm[k] = true
		}
	}
	if !gok || !wok {
		return fmt.Sprintf("serve      %v\nprometheus %v", got, want)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(wm)) {
		if g, ok := gm[k]; !ok || !reflect.DeepEqual(g, wm[k]) {
			fmt.Fprintf(&b, "  %s: serve %v, prometheus %v\n", k, g, wm[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(gm)) {
		if _, ok := wm[k]; !ok {
			fmt.Fprintf(&b, "  %s: serve %v, prometheus none\n", k, gm[k])
		}
	}
	return b.String()
}

// storedSeries is s without job, without the per-target series podscrape does not
// write, and with scrape_duration_seconds' value zeroed.
func storedSeries(s series) series {
	out := series{}
	for text, v := range s {
		if strings.Contains(text, `__name__="scrape_samples_post_metric_relabeling"`) || strings.Contains(text, `__name__="scrape_series_added"`) {
			continue
		}
		if strings.Contains(text, `__name__="scrape_duration_seconds"`) {
			v = 0
		}
		out[dropLabel(text, "job")] = v
	}
	return out
}

// dropLabel removes name="..." from a labelText.
func dropLabel(text, name string) string {
	i := strings.Index(text, name+"=")
	if i < 0 || (text[i-1] != '{' && text[i-1] != ',') {
		return text
	}
	j := i + len(name) + 2
	for j < len(text) && text[j] != '"' {
		if text[j] == '\\' {
			j++
		}
		j++
	}
	end := j + 1
	if end < len(text) && text[end] == ',' {
		end++
	} else if text[i-1] == ',' {
		i--
	}
	return text[:i] + text[end:]
}

func compareStored(t *testing.T, what string, got, want series) {
	t.Helper()
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	var missing, extra, differ []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s %v", k, w))
		case !same(g, w):
			differ = append(differ, fmt.Sprintf("%s: ours %v, theirs %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, fmt.Sprintf("%s %v", k, g))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	slices.Sort(differ)
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Errorf("%s: %d series, Prometheus %d\nonly Prometheus has (%d):\n  %s\nonly podscrape has (%d):\n  %s\nvalues differ (%d):\n  %s",
			what, len(got), len(want), len(missing), strings.Join(missing, "\n  "), len(extra), strings.Join(extra, "\n  "), len(differ), strings.Join(differ, "\n  "))
	}
	if len(want) == 0 {
		t.Errorf("%s: Prometheus answered nothing", what)
	}
}
