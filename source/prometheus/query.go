package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/source"
)

// ErrAllQueriesFailed is wrapped by the error Refresh returns when every query it ran
// failed.
var ErrAllQueriesFailed = errors.New("every query failed")

// QueryError is one query's failure, the Error of its result.
type QueryError struct {
	// Query is the registered query name.
	Query string
	// Expr is the PromQL expression sent, params filled in; empty when filling failed
	// (then Err is source.FillTemplate's error: a missing param, a value refused) or
	// the query has no expression (a metric-name query of the pod source's all_metrics).
	Expr string
	// Attempts is how many requests were sent: more than 1 after transient failures; 0
	// when none was sent or the caller gave up waiting for a request another shared.
	Attempts int
	// URL is the URL that answered the last attempt (after redirects), its password
	// redacted and its query string left out, so an answer of the wrong server (a 404
	// under a wrong path prefix, a page that is not Prometheus') says which URL setting to
	// fix. Empty when no answer came (a connection failure's Err names the URL it tried,
	// also without its query string) or the API was not built by NewAPI.
	URL string
	// Err is the cause: a *v1.Error for an answer of the server (its Msg is the server's
	// message, or its status; its Detail the body), a context error for a timeout, a
	// *url.Error for a connection failure, ErrNoResult or ErrPartialAnswer for a 200
	// that is no answer or part of one.
	Err error
}

// Error names the query, its expression, the URL that answered and the cause, with the
// server's own message when its answer carried one (a Prometheus error body's, else the
// body's text, or an HTML page's title).
func (e *QueryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "query %q", e.Query)
	if e.Expr != "" {
		fmt.Fprintf(&b, " (%s)", e.Expr)
	}
	if e.URL != "" {
		fmt.Fprintf(&b, " at %s", e.URL)
	}
	cause := fmt.Sprint(e.Err)
	// source.FillTemplate's errors name the query already: say it once.
	fmt.Fprintf(&b, ": %s", strings.TrimPrefix(cause, b.String()+": "))
	if msg := serverMessage(e.Err); msg != "" {
		fmt.Fprintf(&b, " (server: %s)", msg)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *QueryError) Unwrap() error { return e.Err }

// serverMessage returns the message of an error body that client_golang kept only in
// Detail (it decodes bodies of 400 and 422 alone): a Prometheus error body's error (its
// errorType first), as Prometheus answers a timeout (503) or an internal error (500);
// else the body as text, its white space collapsed, cut at maxServerMessage bytes,
// since the servers and proxies in front refuse in plain text (Mimir's "no org id" 401,
// its "too many outstanding requests" 429, VictoriaMetrics' 429 over its concurrency
// limit); an HTML page (a proxy's error or sign-in page) by its title alone.
func serverMessage(err error) string {
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) || apiErr.Detail == "" {
		return ""
	}
	var body struct {
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal([]byte(apiErr.Detail), &body) != nil || body.Error == "" {
		return textMessage(apiErr.Detail)
	}
	if body.ErrorType == "" {
		return body.Error
	}
	return body.ErrorType + ": " + body.Error
}

// maxServerMessage bounds the text of an error body an error quotes.
const maxServerMessage = 512

// textMessage returns body as a one-line message (see serverMessage), "" when blank.
func textMessage(body string) string {
	text := strings.TrimSpace(body)
	lower := strings.ToLower(text)
	if strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html") {
		title := ""
		if i := strings.Index(lower, "<title>"); i >= 0 {
			if j := strings.Index(lower[i:], "</title>"); j >= 0 {
				title = strings.Join(strings.Fields(text[i+len("<title>"):i+j]), " ")
			}
		}
		if title == "" {
			return "an HTML page"
		}
		text = "an HTML page titled " + strconv.Quote(title)
	}
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxServerMessage {
		cut := maxServerMessage
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

// allMetrics is the Template of the pod source's query of every sample of every pod
// (source/pod.AllMetricsQuery), which a server cannot answer.
const allMetrics = "all_metrics"

// expression returns q's PromQL: the template filled with params, or a selector of the
// metric name. A metric-name query of all_metrics is an error: on the pod source it is
// every sample of the Service's pods; a server holds no metric of that name, and its
// empty answer would read as no load.
func expression(q source.QueryTemplate, params map[string]string) (string, error) {
	if q.Type == source.QueryTypeMetricName {
		if q.Template == allMetrics {
			return "", errors.New(`all_metrics is the pod source's query of every sample of every pod; a Prometheus server has no such metric: register the metrics to read by name, or as PromQL`)
		}
		return selector(q.Template), nil
	}
	return source.FillTemplate(q, params)
}

// selector returns the PromQL selector of a metric name: the name itself when it is a
// classic metric name, else the quoted form Prometheus 3 reads ({"my.metric"}). A
// classic name PromQL's lexer reads as a keyword or a number, in any case ("nan" and
// "Inf" are numbers, "bool" and "on" keywords no expression starts with), is selected
// by its __name__ label: alone, it is not a selector of the metric.
func selector(name string) string {
	if model.LegacyValidation.IsValidMetricName(name) {
		if !promqlKeywords[strings.ToLower(name)] {
			return name
		}
		return `{__name__="` + name + `"}`
	}
	return `{"` + source.EscapePromQLValue(name) + `"}`
}

// promqlKeywords are the words PromQL's lexer (Prometheus v0.316, promql/parser's key)
// reads as something other than a name, whatever their case: operators, aggregators,
// modifiers, preprocessors, and the numbers inf and nan. Several are taken for a metric
// name where an expression starts with them, but not by every server or version: each
// is selected by its __name__.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true,
	"sum": true, "avg": true, "count": true, "min": true, "max": true, "group": true,
	"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "count_values": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
	"offset": true, "smoothed": true, "anchored": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true,
	"fill": true, "fill_left": true, "fill_right": true, "bool": true,
	"start": true, "end": true, "step": true, "range": true, "max_of": true, "min_of": true,
	"inf": true, "nan": true,
}

// answer is what one shared request gives every caller of its expression.
type answer struct {
	values   []source.MetricValue
	warnings []string
	attempts int
	url      string // that answered the last attempt; "" when none did
	err      error
}

// query evaluates expr at time at, retrying transient failures within QueryTimeout.
// caller is the deadline of the caller that started the request (zero: none): ctx, the
// request's own, keeps none, so that a caller leaving early never fails the others.
func (s *PrometheusSource) query(ctx context.Context, expr string, at time.Time, caller time.Time) answer {
	ctx, cancel := context.WithTimeout(ctx, s.config.QueryTimeout)
	defer cancel()
	log := logr.FromContextOrDiscard(ctx)
	wait := s.config.RetryBackoff
	var previous error // the last attempt's failure, when the deadline cut the next short
	for attempt := 1; ; attempt++ {
		deadline, _ := ctx.Deadline()
		var opts []v1.Option
		// The server's own bound, so it stops evaluating when we stop waiting, and
		// answers what it can within it (serve: from the latest scrape, not waiting for
		// a hung pod past it): the time left of QueryTimeout, or of the caller's
		// deadline while that is earlier. Whole seconds, as client_golang writes the
		// Duration and Prometheus parses only "1m30s" or "90" forms (not "1.5s"); under a
		// second, whole milliseconds ("800ms"): told none, the server would use its own
		// default, and serve wait for a hung pod past the caller.
		bound := deadline
		if now := time.Now(); caller.After(now) && caller.Before(bound) {
			bound = caller
		}
		left := time.Until(bound)
		if left >= time.Second {
			left = left.Truncate(time.Second)
		} else {
			left = left.Truncate(time.Millisecond)
		}
		if left > 0 {
			opts = append(opts, v1.WithTimeout(left))
		}
		// Prometheus rounds the time to the nearest millisecond; the pod source's history
		// truncates. Send whole milliseconds, so both evaluate at the same instant and
		// never after at.
		seen := &answered{}
		value, warnings, infos, err := s.api.Query(withAnswered(ctx, seen), expr, at.Truncate(time.Millisecond), opts...)
		from := seen.getURL()
		if err == nil {
			values, dropped, err := convert(value)
			if err != nil {
				return answer{attempts: attempt, url: from, err: err}
			}
			notes := append(append([]string(nil), warnings...), infos...)
			if err := partialAnswer(seen, notes); err != nil {
				return answer{attempts: attempt, url: from, err: err}
			}
			if partial, _ := seen.wasPartial(); partial {
				notes = append(notes, partialNote)
			}
			if dropped > 0 {
				notes = append(notes, fmt.Sprintf("%d native histogram samples left out: a MetricValue holds a float", dropped))
			}
			return answer{values: values, warnings: notes, attempts: attempt, url: from}
		}
		hideURLQuery(err)
		var apiErr *v1.Error
		if errors.As(err, &apiErr) && apiErr.Type == v1.ErrBadResponse && apiErr.Detail == "" {
			// A 200 that is not Prometheus' JSON: say what it is (serverMessage).
			apiErr.Detail = seen.getBody()
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		if previous != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w; the attempt before: %w", err, previous)
		}
		previous = err
		pause := jitter(wait)
		if ctx.Err() != nil || !transient(err, seen.getRetryAfter()) {
			return answer{attempts: attempt, url: from, err: err}
		}
		if asked := seen.getRetryAfter(); asked > pause {
			// The server said when to ask again (VictoriaMetrics' 429 over its concurrency
			// limit says 10s): asking sooner only adds to its load.
			pause = asked
			if time.Until(deadline) <= pause {
				return answer{attempts: attempt, url: from, err: fmt.Errorf("%w (the server asks to retry after %s, past the query's timeout)", err, asked)}
			}
		}
		if time.Until(deadline) <= pause {
			return answer{attempts: attempt, url: from, err: err}
		}
		kv := []any{"expr", expr, "attempt", attempt, "in", pause, "error", err.Error()}
		if msg := serverMessage(err); msg != "" {
			kv = append(kv, "server", msg) // client_golang keeps it in Detail, out of Error()
		}
		log.V(1).Info("prometheus query failed, retrying", kv...)
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return answer{attempts: attempt, url: from, err: err}
		case <-timer.C:
		}
		wait = min(2*wait, s.config.MaxRetryBackoff)
	}
}

// jitter returns d lengthened by up to 20%, so that callers failing together do not retry
// together.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/5+1)
}

// hideURLQuery leaves the query string out of the URL a *url.Error in err names (a
// connection failure: "Post <URL>: dial tcp ...: connection refused"): it holds the
// configured URL's query, which may carry a key a gateway takes as a parameter, and the
// error goes into the result's Error and the retry log. The password is already
// redacted by net/http; the path stays, to say which URL was tried.
func hideURLQuery(err error) {
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return
	}
	u, perr := url.Parse(urlErr.URL)
	if perr != nil {
		urlErr.URL = redactURL(urlErr.URL)
		if i := strings.IndexAny(urlErr.URL, "?#"); i >= 0 {
			urlErr.URL = urlErr.URL[:i]
		}
		return
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	urlErr.URL = u.Redacted()
}
