//go:build !nodemo

package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	queries "github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
	promsource "github.com/podscrape/podscrape/source/prometheus"
)

// comparePromInterval is the Prometheus server's scrape interval in the demo: shorter than
// a production server's usual 15-60 s, so the demo's panel fills quickly.
const comparePromInterval = 5 * time.Second

// compareQueries are the autoscaler's queries the demo's panel shows: vLLM's, SGLang's
// (sglang/<name>) and the EPP's.
func compareQueries() []string {
	sglang := func(q string) string { return queries.EngineQuery(queries.EngineSGLang, q) }
	return []string{queries.QueueLength, queries.KVCacheUsage, queries.CacheConfigInfo, queries.AvgOutputTokens,
		queries.PrefixCacheHitRate, queries.AvgTTFT, queries.AvgITL, queries.GenerationTokenRate, queries.ModelRequestCount,
		sglang(queries.QueueLength), sglang(queries.KVCacheUsage), sglang(queries.CacheConfigInfo), sglang(queries.AvgITL),
		queries.SchedulerQueueSize, queries.SchedulerDispatchRate, queries.ModelArrivalRate}
}

// eppQuery reports whether q is answered from the EPPs.
func eppQuery(q string) bool {
	for _, s := range queries.SchedulerQueries() {
		if s.Name == q {
			return true
		}
	}
	return false
}

// comparison answers the autoscaler's queries on the demo's pods twice: directly, with a
// PodScrapingSource per Service refreshed on demand, and through a real Prometheus server
// (loopback only) scraping the same pods, with a PrometheusSource.
type comparison struct {
	prom    *promserver.Server
	vllm    *pod.PodScrapingSource
	sglang  *pod.PodScrapingSource
	epp     *pod.PodScrapingSource
	promSrc *promsource.PrometheusSource
	params  map[string]string
	skipped []string
	trends  map[string][]float64 // by query and series, the direct answers of past frames
}

// startComparison starts the Prometheus server (building it first, with progress, when
// missing) and the sources. dir holds its files (the EPP token for Prometheus, mode 0600).
func startComparison(ctx context.Context, cp *localcluster.ControlPlane, l *localcluster.LLMD, dir string, progress io.Writer) (_ *comparison, err error) {
	var secret corev1.Secret
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: l.SecretNamespace, Name: l.SecretName}, &secret); err != nil {
		return nil, fmt.Errorf("read the metrics reader's token: %w", err)
	}
	tokenFile := filepath.Join(dir, "epp-token")
	if err := os.WriteFile(tokenFile, secret.Data[l.SecretKey], 0o600); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "prometheus-kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, l.Namespace, kubeconfig); err != nil {
		return nil, err
	}
	selector := func(m map[string]string) string {
		var parts []string
		for k, v := range m {
			parts = append(parts, k+"="+v)
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	}
	cfg := promserver.PodScrapeConfig(kubeconfig, comparePromInterval,
		promserver.PodJob{Name: "vllm", Namespace: l.Namespace, Selector: selector(l.VLLMSelector), Port: int(l.VLLMPort)},
		promserver.PodJob{Name: "sglang", Namespace: l.Namespace, Selector: selector(l.SGLangSelector), Port: int(l.SGLangPort)},
		promserver.PodJob{Name: "epp", Namespace: l.Namespace, Selector: selector(l.EPPSelector), Port: int(l.EPPPort), BearerTokenFile: tokenFile},
	)
	prom, err := promserver.Start(ctx, promserver.Options{Config: cfg, Progress: progress})
	if err != nil {
		return nil, err
	}
	c := &comparison{prom: prom, skipped: l.SkippedVLLMPods, trends: map[string][]float64{},
		params: map[string]string{source.ParamNamespace: l.Namespace, source.ParamModelID: "Qwen/Qwen3-0.6B", queries.ParamRetentionPeriod: "5m"}}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	// The model servers' sources label their series with the pods' variant, as the
	// server's relabeling does.
	if c.vllm, err = pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.VLLMService, ServiceNamespace: l.Namespace, MetricsPort: l.VLLMPort,
		PodLabels: queries.PodLabels(),
	}); err != nil {
		return nil, err
	}
	if c.sglang, err = pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.SGLangService, ServiceNamespace: l.Namespace, MetricsPort: l.SGLangPort,
		PodLabels: queries.PodLabels(),
	}); err != nil {
		return nil, err
	}
	if c.epp, err = pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.EPPService, ServiceNamespace: l.Namespace, MetricsPort: l.EPPPort,
		MetricsReaderSecretName: l.SecretName, MetricsReaderSecretNamespace: l.SecretNamespace, MetricsReaderSecretKey: l.SecretKey,
	}); err != nil {
		return nil, err
	}
	api, err := promsource.NewAPI(promsource.ClientConfig{URL: prom.URL})
	if err != nil {
		return nil, err
	}
	c.promSrc = promsource.NewPrometheusSource(ctx, api, promsource.PrometheusSourceConfig{})
	for _, reg := range []struct {
		list *source.QueryList
		qs   []source.QueryTemplate
	}{
		{c.vllm.QueryList(), queries.VLLMQueries()},
		{c.sglang.QueryList(), queries.SGLangQueries()},
		{c.epp.QueryList(), queries.SchedulerQueries()},
		{c.promSrc.QueryList(), queries.Queries()},
		{c.promSrc.QueryList(), []source.QueryTemplate{
			{Name: "age_vllm", Type: source.QueryTypePromQL, Template: `time() - min(timestamp(up{job="vllm"}))`},
			{Name: "age_sglang", Type: source.QueryTypePromQL, Template: `time() - min(timestamp(up{job="sglang"}))`},
			{Name: "age_epp", Type: source.QueryTypePromQL, Template: `time() - min(timestamp(up{job="epp"}))`},
		}},
	} {
		if err := queries.Register(reg.list, reg.qs); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// frame refreshes both backends and renders the panel.
func (c *comparison) frame(ctx context.Context) string {
	direct := map[string]*source.MetricResult{}
	for _, src := range []*pod.PodScrapingSource{c.vllm, c.sglang, c.epp} {
		rs, _ := src.Refresh(ctx, source.RefreshSpec{Queries: promQLNames(src), Params: c.params})
		maps.Copy(direct, rs)
	}
	viaProm, _ := c.promSrc.Refresh(ctx, source.RefreshSpec{Params: c.params})
	now := time.Now()
	promAge := func(query string) time.Duration {
		name := "age_vllm"
		switch {
		case eppQuery(query):
			name = "age_epp"
		case strings.HasPrefix(query, string(queries.EngineSGLang)+"/"):
			name = "age_sglang"
		}
		if r := viaProm[name]; r != nil && len(r.Values) > 0 {
			return time.Duration(r.Values[0].Value * float64(time.Second))
		}
		return 0
	}
	var rows []render.ComparisonRow
	for _, q := range compareQueries() {
		byKey := map[string]*render.ComparisonRow{}
		row := func(series string) *render.ComparisonRow {
			if r := byKey[series]; r != nil {
				return r
			}
			r := &render.ComparisonRow{Query: q, Series: series}
			byKey[series] = r
			return r
		}
		if r := direct[q]; r != nil {
			for _, v := range r.Values {
				rr := row(seriesName(v.Labels))
				rr.Direct, rr.DirectOK, rr.DirectAge = v.Value, true, now.Sub(r.CollectedAt)
			}
		}
		if r := viaProm[q]; r != nil {
			for _, v := range r.Values {
				rr := row(seriesName(v.Labels))
				rr.Prometheus, rr.PrometheusOK, rr.PrometheusAge = v.Value, true, promAge(q)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			rr := byKey[k]
			key := q + "/" + k
			if rr.DirectOK {
				rr.Trend = c.trends[key]
				c.trends[key] = append(c.trends[key], rr.Direct)
				if len(c.trends[key]) > 11 {
					c.trends[key] = c.trends[key][1:]
				}
			}
			rows = append(rows, *rr)
		}
		if len(byKey) == 0 {
			rows = append(rows, render.ComparisonRow{Query: q, Series: "(none yet)"})
		}
	}
	var b strings.Builder
	title := fmt.Sprintf("The autoscaler's queries, answered directly from the pods and by the Prometheus server at %s (scraping every %s):",
		c.prom.URL, comparePromInterval)
	notes := []string{
		"AGE: how old the data behind the answer is. podscrape scrapes when asked; Prometheus answers from its last scrape.",
		fmt.Sprintf("Pods %s: one not Ready, one terminating. Prometheus' pod discovery cannot tell a terminating pod, so it may still scrape it; podscrape skips both.",
			strings.Join(c.skipped, ", ")),
		"rate() and increase() read the samples each backend holds: until both hold the whole window (5m), they see different stretches of it and differ.",
	}
	_ = render.WriteComparison(&b, title, rows, notes)
	return b.String()
}

// stop closes the sources and stops the server.
func (c *comparison) stop() {
	for _, s := range []*pod.PodScrapingSource{c.vllm, c.sglang, c.epp} {
		if s != nil {
			s.Close()
		}
	}
	_ = c.prom.Stop()
}

// promQLNames returns the PromQL queries registered on src.
func promQLNames(src *pod.PodScrapingSource) []string {
	var out []string
	for _, name := range src.QueryList().List() {
		if q := src.QueryList().Get(name); q != nil && q.Type == source.QueryTypePromQL {
			out = append(out, name)
		}
	}
	return out
}

// seriesName is a series' pod and variant (llm_d_ai_variant), the pod the EPP
// dispatched to (pod_name), or "all" for an aggregate without one.
func seriesName(labels map[string]string) string {
	switch p := labels["pod"]; {
	case p != "" && labels["llm_d_ai_variant"] != "":
		return p + " " + labels["llm_d_ai_variant"]
	case p != "":
		return p
	case labels["pod_name"] != "":
		return "to " + labels["pod_name"]
	}
	return "all"
}
