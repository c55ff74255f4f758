package source_test

// This file is written only against the exported API of the upstream autoscaler's
// source package (llm-d workload-variant-autoscaler, internal/collector/source), the
// way its own code uses it: its engines and collectors read results, its datastore keeps
// one source per pool in a SourceRegistry, its sources cache under BuildCacheKey. Only
// the import path differs. It compiles against this package, so code written for
// upstream moves here unchanged. Upstream's Cache type (NewCache(ctx, ttl, interval),
// Get returning (value, ok), Set) is left out: it is internal to upstream's sources,
// and this package's Cache is built for snapshot reads.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// The signatures upstream declares, pinned by method expressions: a change of a
// parameter or result type here fails to compile.
var (
	_ func(source.MetricValue, time.Duration) bool                       = source.MetricValue.IsStale
	_ func(source.MetricValue) time.Duration                             = source.MetricValue.Age
	_ func(*source.MetricResult, time.Duration) bool                     = (*source.MetricResult).IsStale
	_ func(*source.MetricResult) time.Time                               = (*source.MetricResult).OldestTimestamp
	_ func(*source.MetricResult) time.Duration                           = (*source.MetricResult).Age
	_ func(*source.MetricResult) bool                                    = (*source.MetricResult).HasError
	_ func(*source.MetricResult) source.MetricValue                      = (*source.MetricResult).FirstValue
	_ func(*source.CachedValue) bool                                     = (*source.CachedValue).IsExpired
	_ func(*source.CachedValue) time.Duration                            = (*source.CachedValue).Age
	_ func(*source.CachedValue, time.Duration) bool                      = (*source.CachedValue).IsFresh
	_ func(string, map[string]string) source.CacheKey                    = source.BuildCacheKey
	_ func() *source.NoOpSource                                          = source.NewNoOpSource
	_ func() *source.SourceRegistry                                      = source.NewSourceRegistry
	_ func(*source.SourceRegistry, string, source.MetricsSource) error   = (*source.SourceRegistry).Register
	_ func(*source.SourceRegistry, string, source.MetricsSource)         = (*source.SourceRegistry).MustRegister
	_ func(*source.SourceRegistry, string, source.MetricsSource) error   = (*source.SourceRegistry).Update
	_ func(*source.SourceRegistry, string) error                         = (*source.SourceRegistry).Unregister
	_ func(*source.SourceRegistry, string) source.MetricsSource          = (*source.SourceRegistry).Get
	_ func(*source.SourceRegistry) []string                              = (*source.SourceRegistry).List
	_ func() *source.QueryList                                           = source.NewQueryList
	_ func(*source.QueryList, source.QueryTemplate) error                = (*source.QueryList).Register
	_ func(*source.QueryList, source.QueryTemplate)                      = (*source.QueryList).MustRegister
	_ func(*source.QueryList) []string                                   = (*source.QueryList).List
	_ func(*source.QueryList, string) *source.QueryTemplate              = (*source.QueryList).Get
	_ func(*source.QueryList, string, map[string]string) (string, error) = (*source.QueryList).Build
	_ func(string) string                                                = source.EscapePromQLValue

	_ source.MetricsSource = (*source.NoOpSource)(nil)
	_ string               = string(source.CacheKey("")) // a string type
	_ source.QueryType     = source.QueryTypeMetricName
	_ source.QueryType     = source.QueryTypePromQL
	_ string               = source.ParamNamespace
	_ string               = source.ParamModelID
	_ string               = source.ParamPodFilter
)

// upstreamSource caches as upstream's sources do: a map by BuildCacheKey of CachedValue
// literals carrying TTL and Params, expired by IsExpired.
type upstreamSource struct {
	queries *source.QueryList
	cache   map[source.CacheKey]*source.CachedValue
	ttl     time.Duration
	value   float64
}

func (s *upstreamSource) QueryList() *source.QueryList { return s.queries }

func (s *upstreamSource) Refresh(_ context.Context, spec source.RefreshSpec) (map[string]*source.MetricResult, error) {
	results := make(map[string]*source.MetricResult)
	for _, name := range spec.Queries {
		result := &source.MetricResult{
			QueryName:   name,
			Values:      []source.MetricValue{{Value: s.value, Timestamp: time.Now(), Labels: map[string]string{"pod": "p-0"}}},
			CollectedAt: time.Now(),
		}
		results[name] = result
		s.cache[source.BuildCacheKey(name, spec.Params)] = &source.CachedValue{
			Result: *result, CachedAt: time.Now(), TTL: s.ttl, Params: spec.Params,
		}
	}
	return results, nil
}

func (s *upstreamSource) Get(queryName string, params map[string]string) *source.CachedValue {
	cached, ok := s.cache[source.BuildCacheKey(queryName, params)]
	if !ok || cached.IsExpired() {
		return nil
	}
	return cached
}

// collect reads a query's per-pod values as upstream's replica metrics collector does.
func collect(ctx context.Context, registry *source.SourceRegistry, name, query string, params map[string]string) (map[string]float64, error) {
	metricsSource := registry.Get(name)
	if metricsSource == nil {
		return nil, fmt.Errorf("no source %q", name)
	}
	results, err := metricsSource.Refresh(ctx, source.RefreshSpec{Queries: []string{query}, Params: params})
	if err != nil {
		return nil, err
	}
	perPod := map[string]float64{}
	if result := results[query]; result != nil {
		if result.HasError() {
			return nil, fmt.Errorf("%s query failed: %w", query, result.Error)
		}
		if result.IsStale(time.Minute) {
			return nil, fmt.Errorf("%s is stale (oldest sample %s, age %s)", query, result.OldestTimestamp(), result.Age())
		}
		for _, value := range result.Values {
			if value.IsStale(time.Minute) || value.Age() > time.Minute {
				continue
			}
			perPod[value.Labels["pod"]] = value.Value
		}
		perPod["first"] = result.FirstValue().Value
	}
	return perPod, nil
}

func TestUpstreamAPIAsUsed(t *testing.T) {
	ctx := context.Background()
	registry := source.NewSourceRegistry()
	registry.Register("prometheus", source.NewNoOpSource()) // nolint:errcheck, as upstream's engine test
	pool := &upstreamSource{queries: source.NewQueryList(), cache: map[source.CacheKey]*source.CachedValue{}, ttl: time.Minute, value: 7}
	pool.QueryList().MustRegister(source.QueryTemplate{
		Name: "kv_cache_usage", Type: source.QueryTypeMetricName, Template: "vllm:kv_cache_usage_perc",
		Params: []string{source.ParamNamespace, source.ParamModelID}, Description: "KV cache usage per pod",
	})
	if err := registry.Update("llm-d/pool", pool); err != nil { // upstream's datastore: PoolSet
		t.Fatal(err)
	}
	params := map[string]string{source.ParamNamespace: "llm-d", source.ParamModelID: "llama"}
	got, err := collect(ctx, registry, "llm-d/pool", "kv_cache_usage", params)
	if err != nil || got["p-0"] != 7 || got["first"] != 7 {
		t.Fatalf("collect: got %v, %v; want p-0 and first 7", got, err)
	}
	cached := registry.Get("llm-d/pool").Get("kv_cache_usage", params)
	if cached == nil || cached.IsExpired() || !cached.IsFresh(time.Minute) || cached.Age() > time.Minute ||
		cached.TTL != time.Minute || cached.Params["modelID"] != "llama" {
		t.Fatalf("cached: got %+v", cached)
	}
	if registry.Get("prometheus").Get("kv_cache_usage", params) != nil {
		t.Fatal("NoOpSource.Get: want nil")
	}
	if err := registry.Unregister("llm-d/pool"); err != nil { // upstream's datastore: PoolDelete
		t.Fatal(err)
	}
	if _, err := collect(ctx, registry, "llm-d/pool", "kv_cache_usage", params); err == nil {
		t.Fatal("collect after Unregister: want an error")
	}
	var missing *source.MetricResult
	if missing.HasError() || !missing.IsStale(time.Hour) || missing.FirstValue().Value != 0 || missing.Age() != 0 {
		t.Fatal("a nil result: want no error, stale, a zero first value and age 0")
	}
}

// Upstream's engine and registration tests read a registered query back as
// `q := src.QueryList().Get(name)` and check `q != nil` and `q.Template`; its pod source's
// test, `Expect(registry.Get("all_metrics")).NotTo(BeNil())`. That code compiles here
// and reads the same: the template, or nil for a name not registered, and a copy, so
// changing it changes nothing registered.
func TestQueryListGetAsUpstreamReadsIt(t *testing.T) {
	queries := source.NewQueryList()
	queries.MustRegister(source.QueryTemplate{
		Name: "queue_length", Type: source.QueryTypePromQL, Template: `sum(vllm:num_requests_waiting{namespace="{{.namespace}}"})`,
		Params: []string{source.ParamNamespace},
	})
	q := queries.Get("queue_length")
	if q == nil || q.Name != "queue_length" || q.Type != source.QueryTypePromQL || len(q.Params) != 1 {
		t.Fatalf("Get(queue_length): got %+v, want the registered template", q)
	}
	q.Template = "changed"
	q.Params[0] = "changed"
	if again := queries.Get("queue_length"); again.Template == "changed" || again.Params[0] != source.ParamNamespace {
		t.Fatalf("changing Get's answer changed the registered query: %+v", again)
	}
	if missing := queries.Get("kv_cache_usage"); missing != nil {
		t.Fatalf("Get of a name not registered: got %+v, want nil", missing)
	}
}
