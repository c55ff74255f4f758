package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// scrapeOptions are the flags of podscrape scrape.
type scrapeOptions struct {
	podFlags
	metrics []string
	match   string
	output  string
	watch   time.Duration
}

func newScrapeCommand(kube *kubeFlags, stdout, stderr io.Writer) *cobra.Command {
	o := &scrapeOptions{}
	cmd := &cobra.Command{
		Use:   "scrape SERVICE --port PORT",
		Short: "Scrape the Ready pods behind a Service once, or every --watch interval",
		Example: `  # vLLM model servers: every sample of every Ready pod
  podscrape scrape vllm -n llm-d --port 8000

  # The EPP's /metrics needs a ServiceAccount token: read it from a Secret
  podscrape scrape epp-service -n llm-d --port 9090 \
    --secret inference-gateway-sa-metrics-reader-secret --secret-namespace workload-variant-autoscaler-system

  # Two metrics, refreshed every 2s, with what changed since the last refresh
  podscrape scrape vllm -n llm-d --port 8000 --metric vllm:num_requests_waiting --metric vllm:kv_cache_usage_perc --watch 2s

  # Pipe to Prometheus tools: check the format and count each metric's series (promtool's
  # lint refuses vLLM's own names: Prometheus keeps ':' for recording rules)
  podscrape scrape vllm -n llm-d --port 8000 -o prom | promtool check metrics --extended --lint=none`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("scrape takes exactly one SERVICE argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(func() error { return o.run(cmd.Context(), kube, args[0], cmd.Flags().Changed, stdout, stderr) })
		},
	}
	f := cmd.Flags()
	o.podFlags.add(f)
	f.StringArrayVar(&o.metrics, "metric", nil, "keep only this metric (a series or family name); repeat for more")
	f.StringVar(&o.match, "match", "", "keep only samples whose name matches this regular expression (RE2, unanchored)")
	f.StringVarP(&o.output, "output", "o", string(render.FormatTable), "output format: "+render.FormatNames())
	f.DurationVar(&o.watch, "watch", 0, "refresh every INTERVAL until Ctrl-C, showing what changed (table, wide, json)")
	return cmd
}

// validate checks the flags; its errors name the flag and say why.
func (o *scrapeOptions) validate(changed func(flag string) bool) (render.Format, *regexp.Regexp, error) {
	format, err := render.ParseFormat(o.output)
	if err != nil {
		return "", nil, usagef("--output must be one of %s, got %q", render.FormatNames(), o.output)
	}
	var match *regexp.Regexp
	if err := o.podFlags.validate(changed); err != nil {
		return "", nil, err
	}
	switch {
	case changed("watch") && o.watch <= 0:
		return "", nil, usagef("--watch must be a positive interval (e.g. 2s), got %s", o.watch)
	case o.watch > 0 && format == render.FormatProm:
		return "", nil, usagef("--watch works with -o table, wide or json, not prom")
	}
	for _, m := range o.metrics {
		if m == "" {
			return "", nil, usagef("--metric needs a metric name")
		}
	}
	if o.match != "" {
		if match, err = regexp.Compile(o.match); err != nil {
			return "", nil, usagef("--match %q is not a regular expression: %w", o.match, err)
		}
	}
	return format, match, nil
}

func (o *scrapeOptions) run(ctx context.Context, kube *kubeFlags, service string,
	changed func(flag string) bool, stdout, stderr io.Writer) error {
	format, match, err := o.validate(changed)
	if err != nil {
		return err
	}
	c, cfg, err := o.podFlags.connect(ctx, kube, service)
	if err != nil {
		return err
	}
	namespace := cfg.ServiceNamespace
	t, err := newTarget(ctx, c, cfg, snapshot.Filter{Metrics: o.metrics, Match: match})
	if err != nil {
		return err
	}
	defer t.close()
	if o.watch > 0 {
		header := fmt.Sprintf("Every %s: podscrape scrape %s -n %s (Ctrl-C to stop)", o.watch, service, namespace)
		return watch(ctx, stdout, stderr, o.watch, []*target{t}, format, func() string { return header }, nil)
	}
	snap, err := t.collect(ctx)
	if snap != nil {
		opts := render.Options{Format: format}
		if err != nil {
			opts.Error = err.Error() // json: every pod failed, said in the document too
		}
		if werr := render.Write(stdout, snap, opts); werr != nil {
			return werr
		}
		if format != render.FormatTable && format != render.FormatWide {
			fmt.Fprint(stderr, stderrNotes(snap, err != nil))
		}
	}
	return err
}

// checkSecret makes a missing --secret, or a key it lacks, an error naming it. (The
// library treats both as "no auth", right for an optional setting of a controller; a
// person who names a Secret means it.) The token itself is never read out.
func checkSecret(ctx context.Context, c client.Reader, namespace, name, key string) error {
	var s corev1.Secret
	// client-go logs response bodies through the context's logger at V(8) (-v 8): here
	// the body holds the token.
	ctx = logr.NewContext(ctx, logr.Discard())
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("secret %s/%s not found (--secret, --secret-namespace)", namespace, name)
		}
		if apierrors.IsForbidden(err) {
			return fmt.Errorf("read secret %s/%s (needs RBAC get on secrets in namespace %s): %w", namespace, name, namespace, err)
		}
		return fmt.Errorf("read secret %s/%s: %w", namespace, name, err) // unreachable, timed out: RBAC is not the cause
	}
	value, ok := s.Data[key]
	if !ok {
		return fmt.Errorf("secret %s/%s has no key %q (--secret-key; %s)", namespace, name, key, secretKeys(s.Data))
	}
	if strings.TrimSpace(string(value)) == "" { // as the library reads it: no token
		return fmt.Errorf("secret %s/%s key %q is empty (--secret-key)", namespace, name, key)
	}
	return nil
}

// secretKeys lists a Secret's keys (never their values), the first ten, for an error
// naming the key it lacks.
func secretKeys(data map[string][]byte) string {
	if len(data) == 0 {
		return "it has no keys"
	}
	names := slices.Sorted(maps.Keys(data))
	if len(names) > 10 {
		return fmt.Sprintf("its keys: %s, and %d more", strings.Join(names[:10], ", "), len(names)-10)
	}
	return "its keys: " + strings.Join(names, ", ")
}

// stderrNotes are the lines written on stderr beside a json document or a prom
// exposition of s (a program reads those, or they carry no text), one-shot or under
// --watch, so that a person sees what the table would say: each pod that failed while
// others did not, the table's Warning: lines (pods left out, as query says them), and
// its lines naming a --metric that matched nothing and saying why there is no sample
// (no data, not no load). After a refresh that failed (failed: every pod, which its
// error says), the warnings alone.
func stderrNotes(s *snapshot.Snapshot, failed bool) string {
	var b strings.Builder
	if !failed {
		for _, p := range s.Pods {
			if !p.Up {
				fmt.Fprintf(&b, "Warning: service %s: pod %s: %s\n", s.Service, p.Pod, p.Error)
			}
		}
	}
	b.WriteString(render.WarningLines(s))
	if !failed {
		for _, note := range []string{render.UnmatchedNote(s), render.EmptyNote(s)} {
			if note != "" {
				b.WriteString(note + "\n")
			}
		}
	}
	return b.String()
}
