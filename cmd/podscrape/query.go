package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/httpheader"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
	promsource "github.com/podscrape/podscrape/source/prometheus"
)

// queryOptions are the flags of podscrape query.
type queryOptions struct {
	podFlags
	params     []string
	output     string
	watch      time.Duration
	prometheus string
	promToken  string
}

// queryName is the name the query is registered under on the source.
const queryName = "query"

// podsQueryName is the name of the query of the pods' up samples, on a Service's pods.
const podsQueryName = queryName + "/pods"

// trendLength is how many past values a --watch sparkline shows.
const trendLength = 20

func newQueryCommand(kube *kubeFlags, stdout, stderr io.Writer) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "query 'EXPR' (SERVICE --port PORT | --prometheus URL)",
		Short: "Evaluate PromQL on the Ready pods behind a Service, with no Prometheus server",
		Long: `query scrapes the Ready pods behind SERVICE and evaluates the PromQL expression EXPR on
their samples with Prometheus' own engine. Series carry the exposed labels plus namespace,
pod and instance (the pod IP and port). {{.name}} placeholders are filled from
--param name=value, escaped for where they stand.

Range functions (rate, increase, max_over_time, ...) need samples spread over their window:
one scrape has one sample per series, so use --watch, which keeps the history between
refreshes; until the window is covered, query says so (No series yet, Partial window,
Warning) rather than print an empty table or a number as if it covered the window.

With --prometheus URL instead of SERVICE, the same query (params filled the same way) runs
on a Prometheus server, or anything serving its HTTP API (Thanos, Mimir,
VictoriaMetrics), through the library's PrometheusSource: compare the two backends.`,
		Example: `  # Requests waiting per pod, right now
  podscrape query 'max by (pod) (vllm:num_requests_waiting)' vllm -n llm-d --port 8000

  # The autoscaler's query, with its params, every 5s (rate needs two refreshes)
  podscrape query 'max by (pod) (rate(vllm:request_generation_tokens_sum{model_name="{{.modelID}}"}[5m]) / rate(vllm:request_generation_tokens_count{model_name="{{.modelID}}"}[5m]))' \
    vllm -n llm-d --port 8000 --param modelID=Qwen/Qwen3-0.6B --watch 5s

  # Requests waiting per pod, on a Prometheus server (or anything serving its HTTP API)
  podscrape query 'max by (pod) (vllm:num_requests_waiting)' --prometheus http://prometheus.monitoring:9090`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("prometheus") {
				if len(args) != 1 {
					return usagef("query with --prometheus takes the EXPR argument alone, got %d argument(s)", len(args))
				}
				return nil
			}
			if len(args) != 2 {
				return usagef("query takes the EXPR and SERVICE arguments (or EXPR and --prometheus URL), got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(func() error {
				service := ""
				if len(args) > 1 {
					service = args[1]
				}
				return o.run(cmd.Context(), kube, args[0], service, cmd.Flags().Changed, stdout, stderr)
			})
		},
	}
	f := cmd.Flags()
	o.podFlags.add(f)
	f.Lookup("timeout").Usage = "time limit of each pod's scrape; with --prometheus, of each query on the server"
	f.StringArrayVar(&o.params, "param", nil, "fill {{.NAME}} placeholders: NAME=VALUE; repeat for more")
	f.StringVarP(&o.output, "output", "o", string(render.FormatTable), "output format: table|json")
	f.DurationVar(&o.watch, "watch", 0, "refresh every INTERVAL until Ctrl-C, keeping history for range functions")
	f.StringVar(&o.prometheus, "prometheus", "", "run the query on the Prometheus HTTP API at this URL instead of on a Service's pods")
	f.StringVar(&o.promToken, "prometheus-token-file", "", "with --prometheus: file holding a Bearer token for the server (re-read when it changes)")
	return cmd
}

// validate checks the flags and the expression; it returns the params and what the
// expression reads.
func (o *queryOptions) validate(expr string, changed func(string) bool) (map[string]string, history.Needs, error) {
	var needs history.Needs
	// --prometheus "" (a CI variable left unset) is a URL to refuse, not the pods' backend
	// asking for a SERVICE it was never given.
	if !changed("prometheus") {
		if err := o.podFlags.validate(changed); err != nil {
			return nil, needs, err
		}
	} else if err := checkPrometheusURL(o.prometheus); err != nil {
		return nil, needs, err
	} else if err := refusePodFlags(changed); err != nil {
		return nil, needs, err
	}
	if changed("prometheus-token-file") {
		if !changed("prometheus") {
			return nil, needs, usagef("--prometheus-token-file needs --prometheus")
		}
		// Read now, as the library will, so that a wrong path names the flag.
		if _, err := httpheader.ReadTokenFile(o.promToken); err != nil {
			return nil, needs, usagef("--prometheus-token-file: %w", err)
		}
	}
	switch {
	case o.output != string(render.FormatTable) && o.output != string(render.FormatJSON):
		return nil, needs, usagef("--output must be table or json for query, got %q", o.output)
	case changed("watch") && o.watch <= 0:
		return nil, needs, usagef("--watch must be a positive interval (e.g. 2s), got %s", o.watch)
	}
	params := map[string]string{}
	for _, p := range o.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, needs, usagef("--param %q is not NAME=VALUE", p)
		}
		params[k] = v
	}
	if missing := missingParams(expr, params); len(missing) > 0 {
		var pass []string
		for _, name := range missing {
			pass = append(pass, "--param "+name+"=...")
		}
		if len(missing) == 1 {
			return nil, needs, usagef("parameter %q is missing: pass %s", missing[0], pass[0])
		}
		return nil, needs, usagef("parameters %q are missing: pass %s", missing, strings.Join(pass, " "))
	}
	filled, err := source.FillTemplate(source.QueryTemplate{Name: queryName, Template: expr}, params)
	if err != nil {
		return nil, needs, usagef("%s", withoutQueryName(err.Error(), ""))
	}
	if changed("prometheus") {
		// The server evaluates it, and says what it accepts: PromQL it enables (experimental
		// functions), a VictoriaMetrics server's MetricsQL. Its refusal is the query's
		// failure, with the server's error.
		return params, needs, nil
	}
	if needs, err = history.Analyze(filled); err != nil {
		return nil, needs, usagef("EXPR is not PromQL: %w", err)
	}
	return params, needs, nil
}

func (o *queryOptions) run(ctx context.Context, kube *kubeFlags, expr, service string,
	changed func(string) bool, stdout, stderr io.Writer) error {
	params, needs, err := o.validate(expr, changed)
	if err != nil {
		return err
	}
	tmpl := source.QueryTemplate{Name: queryName, Type: source.QueryTypePromQL, Template: expr}
	filled, _ := source.FillTemplate(tmpl, params)
	var (
		src     source.MetricsSource
		span    func() (time.Time, time.Time)
		backend string
		svc     string // namespace/name; "" for a Prometheus server
	)
	if changed("prometheus") {
		api, err := promsource.NewAPI(promsource.ClientConfig{URL: o.prometheus, BearerTokenFile: o.promToken})
		if err != nil {
			return usagef("--prometheus: %w", err)
		}
		src = promsource.NewPrometheusSource(ctx, api, promsource.PrometheusSourceConfig{QueryTimeout: o.timeout})
		span = func() (time.Time, time.Time) { return time.Time{}, time.Time{} }
		backend = "Prometheus at " + shownURL(o.prometheus)
		// validate left needs zero: the server's own retention covers the windows.
	} else {
		c, cfg, err := o.podFlags.connect(ctx, kube, service)
		if err != nil {
			return err
		}
		// Keep what the window needs, and a little more than the default otherwise.
		cfg.HistoryRetention = max(history.DefaultRetention, needs.Window+time.Minute)
		ps, err := pod.NewPodScrapingSource(ctx, c, cfg)
		if err != nil {
			return err
		}
		defer ps.Close()
		src, span = ps, ps.HistorySpan
		svc = cfg.ServiceNamespace + "/" + service
		backend = "the pods of Service " + svc
	}
	if err := src.QueryList().Register(tmpl); err != nil {
		return err
	}
	queries := []string{queryName}
	if svc != "" {
		// A PromQL result holds no pod that answered: this one counts the pods scraped, so
		// that an empty answer of a Service without Ready pods says so.
		if err := src.QueryList().Register(source.QueryTemplate{Name: podsQueryName, Type: source.QueryTypeMetricName, Template: source.MetricUp}); err != nil {
			return err
		}
		queries = append(queries, podsQueryName)
	}
	var checks []selectorCheck
	if o.prometheus == "" && needs.Window > 0 {
		// A window the history does not cover yet leaves the result empty: these say
		// whether it is only waiting (selectorcheck.go).
		if checks, err = registerSelectorChecks(src.QueryList(), filled); err != nil {
			return err
		}
		for _, c := range checks {
			queries = append(queries, c.name)
		}
	}
	format := render.Format(o.output)

	eval := &evaluation{expr: filled, backend: backend, service: svc, window: needs.Window, span: span, checks: checks}
	var ticker *time.Ticker
	if o.watch > 0 {
		eval.trends = map[string][]float64{}
		ticker = time.NewTicker(o.watch)
		defer ticker.Stop()
	}
	wrote := false // a --watch frame
	for {
		started := time.Now()
		rs, err := src.Refresh(ctx, source.RefreshSpec{Queries: queries, Params: params})
		if ctx.Err() != nil {
			// Ctrl-C is how a watch that showed its answers stops. Anything else cut short
			// has no answer, and an exit 0 with nothing written would read as one.
			if wrote {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("query on %s: %w", backend, ctx.Err())
			}
			return err
		}
		if rs[queryName] == nil && o.watch <= 0 {
			return err // discovery or Secret failure: nothing was evaluated
		}
		view := eval.view(rs, err, started)
		if o.watch <= 0 {
			return writeOnce(stdout, stderr, view, format, err)
		}
		var frame strings.Builder
		if format == render.FormatTable {
			if isTerminal(stdout) {
				frame.WriteString(clearScreen)
			}
			fmt.Fprintf(&frame, "Every %s (Ctrl-C to stop)\n", o.watch)
		}
		if werr := render.WriteQuery(&frame, view, format, true); werr != nil {
			return werr
		}
		if format == render.FormatTable {
			frame.WriteString("\n")
		}
		if _, werr := io.WriteString(stdout, frame.String()); werr != nil {
			return werr
		}
		if format == render.FormatJSON {
			// What a one-shot -o json writes on stderr beside its document, as scrape
			// --watch -o json does: the pods down, the partial windows, the warnings, why
			// the answer is empty, and the refresh's error. Diagnostics: a closed stderr
			// does not stop the watch.
			notes := render.JSONNotes(view)
			if view.Error != "" {
				notes += fmt.Sprintf("Error: query on %s: %s\n", view.Backend, strings.ReplaceAll(view.Error, "\n", "\n  "))
			}
			_, _ = io.WriteString(stderr, notes)
		}
		wrote = true
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// withoutQueryName removes the name the CLI registers its query under, and the
// expression the message repeats, from a source's error text: the user gave neither.
func withoutQueryName(text, expr string) string {
	prefix := fmt.Sprintf("query %q", queryName)
	if expr != "" {
		text = strings.ReplaceAll(text, prefix+" ("+expr+"): ", "")
		// A server's answer (source/prometheus' QueryError) names the URL that gave it:
		// keep the URL, which says which setting to fix.
		text = strings.ReplaceAll(text, prefix+" ("+expr+") at ", "")
	}
	text = strings.ReplaceAll(text, prefix+" at ", "")
	return strings.ReplaceAll(text, prefix+": ", "")
}

// missingParams returns the names of the {{.name}} placeholders of expr that params lacks,
// in order, each once.
func missingParams(expr string, params map[string]string) []string {
	var missing []string
	for rest := expr; ; {
		_, after, ok := strings.Cut(rest, "{{")
		if !ok {
			return missing
		}
		action, tail, ok := strings.Cut(after, "}}")
		if !ok {
			return missing // FillTemplate says what is wrong
		}
		rest = tail
		name, ok := strings.CutPrefix(strings.TrimSpace(action), ".")
		if _, given := params[name]; ok && name != "" && !given && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
}

// refusePodFlags refuses the pod flags with --prometheus, where nothing reads them: an
// operator giving --token would think the server got it and query it anonymously.
// --timeout is the exception: it bounds each query on the server.
func refusePodFlags(changed func(string) bool) error {
	for _, name := range podFlagNames() {
		switch {
		case name == "timeout" || !changed(name):
		case name == "token":
			return usagef("--token configures the pods' scrape; for the server use --prometheus-token-file")
		default:
			return usagef("--%s configures the pods' scrape, which --prometheus does not do: the server scrapes them", name)
		}
	}
	return nil
}

// checkPrometheusURL refuses a --prometheus value that is not an http or https URL with
// a host, saying what to write: "127.0.0.1:9090" parses as a scheme and an opaque part.
func checkPrometheusURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--prometheus %q: the URL needs http:// or https:// and a host (e.g. http://prometheus.monitoring:9090)", shownURL(raw))
	}
	return nil
}

// shownURL is a --prometheus URL as output and messages show it: a hosted Prometheus takes
// its key as the URL's password (https://user:key@host) or as a query parameter (a
// gateway's subscription-key), so the password is shown as xxxxx (url.URL.Redacted, as
// the library's errors show it) and each parameter's value as [REDACTED], its name kept.
// A value that is not a URL with a host shows nothing before its last "@".
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			raw = "[REDACTED]" + raw[at:]
		}
		if q := strings.IndexByte(raw, '?'); q >= 0 {
			raw = raw[:q+1] + "[REDACTED]"
		}
		return raw
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			if name, _, ok := strings.Cut(p, "="); ok {
				params[i] = name + "=[REDACTED]"
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.Redacted()
}
