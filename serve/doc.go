// Package serve is Prometheus' HTTP API over direct scrapes of the Ready pods behind one
// or more Kubernetes Services: what `podscrape serve` runs, so that tools that speak that
// API (KEDA's prometheus trigger, prometheus-adapter, Grafana, promtool, the autoscaler's
// own PrometheusSource) read the pods with no Prometheus server in between.
//
// # Usage
//
// New takes a client.Reader (serve's own informers, StartCache, as the command uses,
// with a direct reader as each source's SecretReader; or a manager's cached client) and
// a Config listing the Services, each a pod.PodScrapingSourceConfig (LoadFile reads
// them from the command's YAML file). Run
// scrapes them until its context ends; Handler serves the API (/api/v1/query,
// query_range, series, labels, metadata, /federate, /-/ready); Close releases the
// Server after Run returned. The package example shows the whole path; docs/serve.md of
// this module is the command's guide.
//
// # Access
//
// Handler answers whoever reaches it: every Service's series, /api/v1/targets (the pods'
// addresses and errors) and /metrics. WithKubernetesAuth wraps it as `--auth kubernetes`
// does (a TokenReview and a SubjectAccessReview per request, cached; the probes
// /-/healthy and /-/ready left open); without it, listen where only trusted clients
// reach. The handler never sends a pod's token: errors that quote what a pod sent have it
// redacted (source/pod).
//
// # Architecture
//
// Each Service has its own PodScrapingSource (source/pod), scraped on the Service's
// interval with ScrapeSeriesReport, and its own history (internal/history): every scrape's
// samples come as Prometheus series labelled job (the Service's name), namespace, pod,
// instance (the pod's <IP>:<port>), the mapped pod labels and the exposed labels, built
// by the source straight from its parser, and are appended as one scrape per pod, so
// staleness, retention and the series limit are Prometheus'. Queries are evaluated by Prometheus' promql.Engine over the union of
// the histories (storage.NewMergeQuerier), and answered with Prometheus' JSON envelope
// and value encoding. One history per Service, not one for all: a history marks stale
// every target absent from an append, and Services scrape on their own intervals.
//
// # Freshness
//
// With Config.MaxAge set, a query whose Services' newest scrape started more than MaxAge
// ago scrapes them first (the Services it reads, below: not one whose series none of its
// selectors matches); concurrent queries share that scrape. An instant query without a
// time is evaluated after it, so the answer includes it. An instant query's time that is the
// client's now (at most MaxAge before the request arrived, or written to the second and
// in the second before it) is evaluated as now too: evaluated as asked, it would fall
// before the scrape the request waited for. Any other time, and every range query, is
// evaluated as asked; a range query ending no later than its request's arrival
// (Grafana's) scrapes nothing, as its answer cannot include the scrape. A query's scrape
// re-phases the Service's interval scrapes: the next comes an interval after it less a
// lead, MaxAge/2 (at most a quarter interval) plus half the query's scrape's length (up
// to half as much again), so a client polling every interval is answered from it instead
// of scraping and waiting for the pods at each poll: at once when the scrape lasts no
// longer than that lead, else once the rest of it is done. A query that waits for the
// rest of the loop's scrape re-phases the loop as its own scrape would.
//
// A query has one deadline, from its request's arrival, as Prometheus' query timeout: the
// request's timeout, or 2 minutes when it sends none or a longer one. It bounds the wait
// for the scrape, the queue for an evaluation slot (Config.MaxConcurrentQueries) and the
// evaluation together. The wait takes at most three quarters of it: a Service whose
// scrape has not finished by then is answered from its latest scrape, with a warning
// naming it (an instant query of which some of that scrape's samples are older than
// the lookback delta, which it would not read, is HTTP 503 "unavailable" instead), and
// the last quarter is kept for the queue and the evaluation. A query
// whose client disconnects stops at once; a scrape other queries wait for goes on.
//
// # Errors an autoscaler cannot misread
//
// A Service is read by an expression when one of its selectors matches a series the
// Service's history holds (the synthetic up and scrape_* series aside), or when the
// Service never scraped a pod successfully and the selector's namespace and job matchers
// do not exclude it, nor its target-label matchers (pod, instance) every pod it lists
// (what it exposes is not known yet), or when a pod that failed its latest scrape, or
// turned not Ready since, holds no series but the synthetic ones (it gave no data within
// the retention), the selector's target-label matchers do not exclude it, and another
// pod of the Service exposed a metric of the name it selects. A selector
// of only the synthetic names (by equality, or a regular expression of only those names)
// reads health: it is answered while the Service has pods to answer for. Then:
//
//   - a read Service not scraped yet (its first scrape under way): HTTP 503, errorType
//     "unavailable", naming it, with Retry-After (1s; the interval before Run began)
//     when every Service down is one not scraped yet, so that a client asks again;
//     the other 503s carry none;
//   - every pod of a read Service failed its latest scrape, or its discovery or token
//     Secret failed: HTTP 503, errorType "unavailable", naming the Service and each
//     pod's error;
//   - a read Service selects pods none of which is Ready (all starting, failing their
//     readiness probe under load, or terminating): HTTP 503, errorType "unavailable"
//     (no pod answers, which is not "no load"); a Service that selects no pod answers
//     empty;
//   - some pods failed: the answer, with a warning per Service naming the failed pods,
//     unless a data selector's series are held only of those pods, or of pods no longer
//     scraped because they are not Ready (every pod of one model down, or failing its
//     readiness probe), or may be held only by such pods that gave no data: then HTTP
//     503, errorType "unavailable", naming the selector and those pods' errors, since
//     its answer would be empty;
//   - an instant query at a time before the latest scrape ended, which reads an earlier
//     scrape in which every pod failed, or every pod holding a data selector's series
//     (as the history's up series show it) failed or was left out as not Ready (as that
//     scrape's state, while kept, says), or an instant selector whose @ or offset moves
//     it to such a scrape: HTTP 503, errorType "unavailable", naming the time, the
//     Service and those pods; some pods failed that scrape, or were left out of it: the
//     answer, with a warning naming them;
//   - some pods that held series a data selector reads are no longer scraped because
//     they turned not Ready (failing their readiness probe under load: the busiest) or
//     finished (evicted): the answer, which leaves them out, with a warning per Service
//     naming them ("not Ready", "finished (Failed)"); a pod deleted, terminating or
//     starting is not named. An instant query's window of a function that adds up over
//     time (below) over such a pod's series holds nothing of it since its last scrape
//     (as the latest scrape finds it, or the earlier one the query's time reads):
//     HTTP 422, errorType "execution", naming the window and the pods, unless
//     Config.AllowPartialWindows (then the warning alone);
//   - a window of a function that adds up over time (increase, delta, sum_over_time,
//     count_over_time, changes, resets) or an offset reaching before what the history
//     holds: HTTP 422, errorType "execution", naming the window and the span held, unless
//     Config.AllowPartialWindows (then a warning); a window of any other function (rate,
//     avg_over_time, ...): a warning, unless the answer has no value at all (a rate over
//     a single scrape estimates nothing): then HTTP 422, errorType "execution", unless
//     Config.AllowPartialWindows (then the empty answer, with the warning);
//   - an instant query at a time before the oldest scrape a read Service's history holds
//     (an instant selector finds no sample of it there, as an offset before the history):
//     HTTP 422, errorType "execution", naming the selector, the time and the span held,
//     unless Config.AllowPartialWindows (then a warning);
//   - a read Service whose namespace's informers (StartCache's Cache) have failed to list
//     or watch its pods or Services at the API server for DiscoveryWarnAfter (a network
//     partition, the API server down, serve's RBAC revoked): the answer, from the pods
//     they last gave, with a warning naming the Service, since when and the error (pods
//     added since are missing); past DiscoveryUnavailableAfter, HTTP 503, errorType
//     "unavailable". /api/v1/targets carries the words too. A manager's cached client
//     gives no such word: its informers' failures are not seen;
//   - a bad expression or parameter: HTTP 400, errorType "bad_data", as Prometheus.
package serve
