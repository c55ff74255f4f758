package main

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source/pod"
)

// target is one Service to scrape: its source, and the queries of its filter.
type target struct {
	service string // namespace/name
	src     *pod.PodScrapingSource
	filter  snapshot.Filter
	queries snapshot.Queries
}

// newTarget builds the source of cfg on c and registers the filter's queries. A config
// the library refuses is a usage error: every field comes from a flag.
func newTarget(ctx context.Context, c client.Reader, cfg pod.PodScrapingSourceConfig, f snapshot.Filter) (*target, error) {
	src, err := pod.NewPodScrapingSource(ctx, c, cfg)
	if err != nil {
		return nil, usagef("%w", err)
	}
	q, err := f.Register(src.QueryList())
	if err != nil {
		src.Close()
		return nil, usagef("--metric: %w", err)
	}
	return &target{service: cfg.ServiceNamespace + "/" + cfg.ServiceName, src: src, filter: f, queries: q}, nil
}

// collect scrapes the Service once (see snapshot.Collect). The library's errors name the
// Service, the pods or the Secret already.
func (t *target) collect(ctx context.Context) (*snapshot.Snapshot, error) {
	return snapshot.Collect(ctx, t.src, t.service, t.filter, t.queries)
}

func (t *target) close() { t.src.Close() }
