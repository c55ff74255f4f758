package pod

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

// Stages of a refresh, as runProgress records them.
const (
	stageDiscovery int32 = iota // reading the Service and listing its pods
	stageToken                  // reading the token Secret or file
	stageScrape                 // scraping the pods
	stageStore                  // storing the scrape in the history
	stageDone                   // the run has its outcome
)

// runProgress is what a refresh in progress is doing: when a caller's context ends
// before the refresh does, its error says what it was waiting for (the pods that had not
// answered, most often: a hung pod with a ScrapeTimeout longer than the caller's
// deadline fails every such caller). It is safe for concurrent use: the run writes it,
// callers read it.
type runProgress struct {
	stage atomic.Int32
	// targets are the pods being scraped; set before stage becomes stageScrape, then
	// read-only.
	targets []target
	// answered says, per target, that its scrape ended other than by the run's
	// cancellation: the pod answered, or failed on its own.
	answered []atomic.Bool
}

// scraping records that the run scrapes targets.
func (p *runProgress) scraping(targets []target) {
	p.targets = targets
	p.answered = make([]atomic.Bool, len(targets))
	p.stage.Store(stageScrape)
}

// scraped records that the scrape of target i ended with ps.
func (p *runProgress) scraped(i int, ps *podScrape) {
	if p != nil && (ps.err == nil || ScrapeReason(ps.err) != ReasonCanceled) {
		p.answered[i].Store(true)
	}
}

// maxNamedPods bounds the pods an error names.
const maxNamedPods = 10

// describe says what the refresh was doing, for the error of a caller that stopped
// waiting for it.
func (p *runProgress) describe(s *PodScrapingSource) string {
	switch p.stage.Load() {
	case stageDiscovery:
		return "the refresh in progress was discovering the Service's pods"
	case stageToken:
		cfg := &s.config
		if cfg.BearerTokenFile != "" {
			return "the refresh in progress was reading the bearer token file " + cfg.BearerTokenFile
		}
		return fmt.Sprintf("the refresh in progress was reading the token Secret %s/%s", cfg.MetricsReaderSecretNamespace, cfg.MetricsReaderSecretName)
	case stageScrape:
		var waiting []string
		for i := range p.targets {
			if !p.answered[i].Load() {
				waiting = append(waiting, p.targets[i].key)
			}
		}
		return waitingFor(waiting, len(p.targets))
	case stageStore:
		return "the refresh in progress was storing its scrape in the history"
	default:
		return ""
	}
}

// waitingFor says which of total pods had not answered.
func waitingFor(pods []string, total int) string {
	if len(pods) == 0 {
		if total == 1 {
			return "its one pod had answered"
		}
		return fmt.Sprintf("every one of the %d pods had answered", total)
	}
	named := pods[:min(len(pods), maxNamedPods)]
	more := ""
	if len(pods) > len(named) {
		more = fmt.Sprintf(" and %d more", len(pods)-len(named))
	}
	return fmt.Sprintf("waiting for %d of %d pods: %s%s", len(pods), total, strings.Join(named, ", "), more)
}

// watchProgress returns a function that, once ctx has ended, says what the source's
// refresh in progress was doing when it ended ("" when none was in progress, or ctx has
// not ended, or had already ended). It must be called once; it releases what
// watchProgress set up.
func (s *PodScrapingSource) watchProgress(ctx context.Context) func() string {
	if ctx.Err() != nil {
		return func() string { return "" } // it waited for nothing
	}
	var seen *runProgress
	caught := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		seen = s.progress.Load()
		close(caught)
	})
	return func() string {
		if stop() || ctx.Err() == nil {
			return "" // ctx had not ended: nothing was caught
		}
		<-caught
		if seen == nil {
			return ""
		}
		return seen.describe(s)
	}
}
