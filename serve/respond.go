package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
)

// errorType is the errorType of Prometheus' HTTP API.
type errorType string

// The error types this server answers with, and the HTTP status Prometheus gives each.
const (
	errorBadData     errorType = "bad_data"    // 400
	errorExec        errorType = "execution"   // 422
	errorCanceled    errorType = "canceled"    // 499
	errorTimeout     errorType = "timeout"     // 503
	errorInternal    errorType = "internal"    // 500
	errorUnavailable errorType = "unavailable" // 503
	statusClientGone           = 499
)

// apiError is an error answered with Prometheus' error envelope.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %s", e.typ, e.err) }
func (e *apiError) Unwrap() error { return e.err }

// retryLater is an *apiError whose answer says when to ask again: a Retry-After header of
// after, in whole seconds rounded up, at least 1 (RFC 9110 10.2.3). Serve answers so the
// 503 of a query that reads only Services down because they are not scraped yet: their
// first scrape is under way, and the answer comes within it. The other 503s (every pod
// failed, none Ready, discovery failing long) carry none: a client must act on them at once.
type retryLater struct {
	*apiError
	after time.Duration
}

func (e *retryLater) Unwrap() error { return e.apiError }

// retryAfterSeconds is the Retry-After value of a wait d: whole seconds, rounded up, at
// least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// status is the HTTP status of an error type, as Prometheus gives it, except
// unavailable: Prometheus answers it 500 by default (an admin API switched off); here it
// means the pods could not be scraped, and 503 is what an autoscaler retries on.
func (t errorType) status() int {
	switch t {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientGone
	case errorTimeout, errorUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// response is Prometheus' API envelope.
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// writeTo writes resp as Prometheus' codec writes its envelope (encoding/json's output
// for its fields: in this order, empty ones left out, strings HTML-escaped), the data
// by writeData, in the same stream.
func (resp *response) writeTo(stream *jsoniter.Stream) {
	stream.WriteObjectStart()
	stream.WriteObjectField("status")
	stream.WriteStringWithHTMLEscaped(resp.Status)
	if resp.Data != nil {
		stream.WriteMore()
		stream.WriteObjectField("data")
		writeData(stream, resp.Data)
	}
	for _, f := range [...]struct{ name, value string }{{"errorType", resp.ErrorType}, {"error", resp.Error}} {
		if f.value != "" {
			stream.WriteMore()
			stream.WriteObjectField(f.name)
			stream.WriteStringWithHTMLEscaped(f.value)
		}
	}
	for _, f := range [...]struct {
		name   string
		values []string
	}{{"warnings", resp.Warnings}, {"infos", resp.Infos}} {
		if len(f.values) > 0 {
			stream.WriteMore()
			stream.WriteObjectField(f.name)
			stream.WriteArrayStart()
			for i, v := range f.values {
				if i > 0 {
					stream.WriteMore()
				}
				stream.WriteStringWithHTMLEscaped(v)
			}
			stream.WriteArrayEnd()
		}
	}
	stream.WriteObjectEnd()
}

// respond writes data as a success, with warnings and infos, each bounded.
func respond(w http.ResponseWriter, data any, warnings, infos []string) {
	writeJSON(w, http.StatusOK, &response{Status: "success", Data: data,
		Warnings: bounded(warnings, "warning"), Infos: bounded(infos, "info")})
}

// maxAnnotations is how many warnings, and how many infos, one answer carries, as
// Prometheus' API answers its annotations: a query over hundreds of Services, each with
// a warning of its failed pods, would otherwise carry them all in every answer, and into
// the logs of Grafana and KEDA, which log each.
const maxAnnotations = 10

// bounded is values without repeats (Prometheus keeps its annotations in a set), the
// first maxAnnotations of them in their order, then, when there were more, one saying
// how many more of kind ("warning", "info") were left out, in Prometheus' words.
func bounded(values []string, kind string) []string {
	if len(values) < 2 {
		return values
	}
	out := make([]string, 0, min(len(values), maxAnnotations+1))
	seen := make(map[string]bool, len(values))
	omitted := 0
	for _, v := range values {
		if seen[v] {
			continue
		}
		seen[v] = true
		if len(out) < maxAnnotations {
			out = append(out, v)
		} else {
			omitted++
		}
	}
	if omitted > 0 {
		out = append(out, fmt.Sprintf("%d more %s annotations omitted", omitted, kind))
	}
	return out
}

// respondError writes err as Prometheus' error envelope; an error that is not an
// *apiError is internal.
func respondError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{errorInternal, err}
	}
	if rl := (*retryLater)(nil); errors.As(err, &rl) {
		w.Header().Set("Retry-After", retryAfterSeconds(rl.after))
	}
	writeJSON(w, ae.typ.status(), &response{Status: "error", ErrorType: string(ae.typ), Error: ae.err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, resp *response) {
	// As Prometheus' codec encodes its envelope, in a pooled stream's buffer: the whole
	// answer is encoded before the status is written, so an encoding error is a 500.
	stream := jsonConfig.BorrowStream(nil)
	defer jsonConfig.ReturnStream(stream)
	resp.writeTo(stream)
	if stream.Error != nil {
		http.Error(w, stream.Error.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(stream.Buffer()) // the client went away: nothing to tell
}

// badParam is Prometheus' invalid-parameter error.
func badParam(err error, name string) *apiError {
	return &apiError{errorBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// engineError maps an evaluation error to its error type, as Prometheus does.
func engineError(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
	)
	switch {
	case errors.As(err, &eqc):
		return &apiError{errorCanceled, err}
	case errors.As(err, &eqt):
		return &apiError{errorTimeout, err}
	case errors.As(err, &es):
		return &apiError{errorInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{errorCanceled, err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{errorTimeout, err}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{errorExec, err}
}

// Prometheus' bounds for times left open.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// parseTime parses a time parameter as Prometheus does: Unix seconds with a fraction,
// or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(t)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTime.Format(time.RFC3339Nano):
		return minTime, nil
	case maxTime.Format(time.RFC3339Nano):
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// timeParam is the time parameter name of r, or def when it is absent.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration parses a duration parameter as Prometheus does: seconds with a
// fraction, or a Prometheus duration (5m).
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// limitParam parses the limit parameter: 0 (no limit) when absent.
func limitParam(r *http.Request) (int, error) {
	v := r.FormValue("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return n, nil
}
