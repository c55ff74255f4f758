package pod

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/source"
)

const userAgent = "podscrape"

// podScrape is one pod's outcome in one refresh.
type podScrape struct {
	target    target
	values    []source.MetricValue // exposed samples kept, then the synthetic ones
	repeats   []repeatValue        // repeats of a series in values with a later timestamp of their own: for the history only
	stored    []int32              // indices into values of the samples the history has already (exposition.Sample.Stored)
	series    []SeriesSample       // instead of values for ScrapeSeries: the same samples as series
	matches   [][]int32            // per name of the selection: indices into values
	up        int32                // index of the pod's up in values
	scraped   int                  // samples in the exposition, kept or not
	dropped   int                  // sample lines dropped: repeats of an earlier series, timestamps out of bounds
	duration  time.Duration
	scrapedAt time.Time // when the scrape started: the time of its samples without their own
	err       error     // a *ScrapeError, or nil

	metadata []familyMetadata // the exposition's # TYPE, # HELP and # UNIT lines
}

// repeatValue is a sample of a series that values holds already, with a later timestamp
// of its own, which came before values[at] in the exposition.
type repeatValue struct {
	at int
	v  source.MetricValue
}

// scrapeJob is what every pod's scrape in one refresh shares.
type scrapeJob struct {
	sel      *selection
	token    string
	noToken  string       // why no token is sent although a Secret is configured (bearer.missing)
	header   http.Header  // the request header of every pod; read-only
	sizeHint int          // samples a pod produced for this selection last time
	series   *seriesJob   // set by ScrapeSeries: build series, not values
	points   bool         // the values feed the PromQL history: mark what it has (podPoints)
	progress *runProgress // of the refresh, which records each pod's end; nil for ScrapeSeries
}

// newScrapeJob prepares the shared part of a refresh's requests, sending auth's token.
func (s *PodScrapingSource) newScrapeJob(sel *selection, auth bearer) *scrapeJob {
	token := auth.token
	h := http.Header{
		"Accept":          {exposition.AcceptHeader},
		"Accept-Encoding": {"gzip"},
		"User-Agent":      {userAgent},
		"X-Prometheus-Scrape-Timeout-Seconds": {
			strconv.FormatFloat(s.config.ScrapeTimeout.Seconds(), 'f', -1, 64)},
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return &scrapeJob{sel: sel, token: token, noToken: auth.missing, header: h, sizeHint: s.sizeHint(sel.key)}
}

// scrape fetches and parses one pod within ScrapeTimeout and appends the synthetic
// up, scrape_duration_seconds and scrape_samples_scraped samples.
func (s *PodScrapingSource) scrape(ctx context.Context, t target, job *scrapeJob) podScrape {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.config.ScrapeTimeout)
	defer cancel()

	sel := job.sel
	ps := podScrape{target: t, matches: make([][]int32, len(sel.names))}
	var sb *seriesBuilder
	switch {
	case job.series != nil:
		sb = job.series.builder(&t, &s.seriesCaches)
		ps.series = sb.cache.samples[:0] // the pod's previous scrape's, handed back
		ps.metadata = sb.cache.metadata[:0]
		if cap(ps.series) == 0 && job.sizeHint > 0 {
			ps.series = make([]SeriesSample, 0, job.sizeHint)
		}
	case job.sizeHint > 0:
		ps.values = make([]source.MetricValue, 0, job.sizeHint)
	}
	scrapedAt := s.config.Clock.Now()
	ps.scrapedAt = scrapedAt
	start := time.Now()
	err := t.unreachable // another pod's address: no request
	if err == nil {
		err = s.fetch(ctx, &ps, job, sb, scrapedAt)
	}
	ps.duration = time.Since(start)
	err = withTimeout(parent, ctx, err, s.config.ScrapeTimeout, ps.duration)
	if t.portHint != "" && errors.Is(err, syscall.ECONNREFUSED) {
		// Say where the Service forwards to on this pod: MetricsPort is not it.
		err = fmt.Errorf("%w (%s)", err, t.portHint)
	}
	if err != nil {
		ps.err = &ScrapeError{Pod: t.key, URL: t.url(), Err: redact(err, job.token)}
		// Samples of a pod that failed half-way are not trusted: only its up 0 remains.
		ps.values = ps.values[:0]
		ps.repeats, ps.stored = nil, nil
		ps.series = ps.series[:0]
		for i := range ps.matches {
			ps.matches[i] = ps.matches[i][:0]
		}
		ps.dropped = 0
		if !exposedCounted(err) {
			ps.scraped = 0
		}
	}
	up := 1.0
	if err != nil {
		up = 0
	}
	if sb != nil {
		sb.appendSynthetic(&ps, up)
		sb.done(err == nil, ps.series, ps.metadata)
		return ps
	}
	// up is kept whatever the queries: every metric-name result carries it.
	ps.up = int32(len(ps.values))
	s.appendValue(&ps, sel, upName, upName, syntheticValue(upName, up, scrapedAt, &t))
	s.appendSynthetic(&ps, sel, source.MetricScrapeDuration, ps.duration.Seconds(), scrapedAt)
	s.appendSynthetic(&ps, sel, source.MetricScrapeSamples, float64(ps.scraped), scrapedAt)
	return ps
}

// exposedCounted reports whether a failed scrape's scrape_samples_scraped is the count
// the parser reached, as Prometheus writes it: every sample line of an exposition over
// SampleLimit (Prometheus parses on past its sample_limit), the lines before the one
// that broke a malformed exposition. A scrape that failed otherwise (the request, the
// body's reading, its timeout) scraped nothing: Prometheus reads the whole body before
// parsing it.
func exposedCounted(err error) bool {
	switch ScrapeReason(err) {
	case ReasonSampleLimit:
		return true
	case ReasonParse:
		var pe *exposition.ParseError
		return errors.As(err, &pe)
	}
	return false
}

// gzipReaders keeps gzip readers (about 45 KB of decompressor state each) for reuse by
// the next pods' scrapes instead of one allocated per pod per scrape.
var gzipReaders sync.Pool

// gzipReader returns a pooled gzip reader reading r; put it back in gzipReaders when done.
func gzipReader(r io.Reader) (*gzip.Reader, error) {
	if gz, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := gz.Reset(r); err != nil {
			gzipReaders.Put(gz)
			return nil, err
		}
		return gz, nil
	}
	return gzip.NewReader(r)
}

// sourceReader keeps the error its reader returned other than io.EOF: a gzip reader
// reports a body cut by the network and a gzip stream cut short alike (unexpected EOF),
// and only the first is the connection's failure; the parser reports a failed read
// and a malformed line alike, and only the second is a parse error.
type sourceReader struct {
	r   io.Reader
	err error // the first read error other than io.EOF
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// gzipBody reads a gzip body, marking with errGzipStream the errors of the stream itself
// (corrupt, cut short, a checksum that does not match) as opposed to those of the
// connection, which it returns as they are.
type gzipBody struct {
	gz  *gzip.Reader
	src *sourceReader
}

func (g *gzipBody) Read(p []byte) (int, error) {
	n, err := g.gz.Read(p)
	if err != nil && err != io.EOF && g.src.err == nil {
		err = fmt.Errorf("%w: %w", errGzipStream, err)
	}
	return n, err
}

// upName is the synthetic sample that says whether a pod answered.
const upName = source.MetricUp

// syntheticValue is a sample the scraper writes for pod t: __name__, pod and the mapped pod
// labels, as Prometheus labels up with the target's labels.
func syntheticValue(name string, v float64, ts time.Time, t *target) source.MetricValue {
	m := make(map[string]string, 2+len(t.labels))
	m["__name__"] = name
	setTargetLabels(m, t.name, t.labels)
	return source.MetricValue{Value: v, Timestamp: ts, Labels: m}
}

// fetch does the HTTP exchange and parses the body into ps.
// With sb, it builds the samples as series instead of values (see ScrapeSeries).
func (s *PodScrapingSource) fetch(ctx context.Context, ps *podScrape, job *scrapeJob, sb *seriesBuilder, scrapedAt time.Time) error {
	sel := job.sel
	// Built directly rather than by http.NewRequest, which would parse the URL again.
	// The header is shared by every pod of the refresh: the transport never writes to
	// a request's header.
	req := (&http.Request{
		Method:     http.MethodGet,
		URL:        ps.target.addr,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     job.header,
		Host:       ps.target.addr.Host,
	})
	var stage requestStage
	req = req.WithContext(httptrace.WithClientTrace(ctx, stage.trace()))
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return shortError(stage.cut(ctx, err))
	}
	// Not drained: a body read to its end has returned its connection for reuse, and
	// one left unread (an error status, a redirect, a parse error) may stall, which
	// would hold the pod's failure, and the refresh, until ScrapeTimeout. Its connection
	// is closed instead; the next scrape dials again.
	defer resp.Body.Close()

	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("%w: HTTP status %d to %q", ErrRedirect, resp.StatusCode, cut(resp.Header.Get("Location")))
	case resp.StatusCode != http.StatusOK:
		return &StatusError{StatusCode: resp.StatusCode, noToken: job.noToken}
	}
	format, typeErr := exposition.ParseContentType(resp.Header.Get("Content-Type"))
	var body io.Reader = resp.Body
	compressed := false
	switch enc := resp.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		compressed = true
		src := &sourceReader{r: resp.Body}
		gz, err := gzipReader(src)
		if err != nil {
			if src.err != nil {
				return src.err // the connection's failure, not the body's
			}
			return fmt.Errorf("%w: %w", errGzipHeader, err)
		}
		defer gzipReaders.Put(gz)
		body = &gzipBody{gz: gz, src: src}
	default:
		if typeErr != nil {
			return typeErr
		}
		return fmt.Errorf("%w %q", errContentEncoding, cut(enc))
	}
	body = &capReader{r: body, left: s.config.MaxBodyBytes, limit: s.config.MaxBodyBytes}
	// The body's reading failing (the connection reset or cut, its chunked encoding or
	// gzip stream broken, the cap) is told apart from the exposition's being malformed.
	read := &sourceReader{r: body}
	body = read
	if typeErr != nil {
		// Prometheus' scrape loop takes an empty body for an empty, successful scrape
		// before it looks at the Content-Type (the parser does so for its formats). The
		// Content-Length of a body not compressed (a gzip stream may decode to nothing)
		// says so without waiting for a byte, which may be slow to come.
		if resp.ContentLength > 0 && !compressed {
			return typeErr
		}
		var one [1]byte
		if _, err := io.ReadFull(body, one[:]); err == io.EOF {
			return nil
		}
		return typeErr
	}

	p := s.parsers.get(sel)
	defer s.parsers.put(p)
	p.metadata = &ps.metadata
	// A repeat of a series with a later timestamp of its own is a further sample of the
	// series in the PromQL history, as in Prometheus, but a result has one value per
	// series: the first.
	p.SetScrapeTime(scrapedAt.UnixMilli())
	// A series with several points of their own timestamps, exposed again: those the
	// history has, or would refuse as out of order, are not handed to it, as
	// Prometheus' storage drops them without a word. The parser marks Stored those the
	// pod's previous scrape stored gave; the history has them when that append stored
	// their metric (had).
	var had storedNames
	switch {
	case sb != nil:
		p.SetPoints(&sb.cache.points)
	case job.points:
		var pts *exposition.Points
		pts, had = s.points.get(&ps.target)
		p.SetPoints(pts)
	}
	emit := func(smp *exposition.Sample) error {
		ts := scrapedAt
		if smp.HasTimestamp {
			ts = time.UnixMilli(smp.TimestampMs)
		}
		v := source.MetricValue{
			Value:     smp.Value,
			Timestamp: ts,
			Labels:    podLabels(smp, &ps.target),
		}
		stored := smp.Stored && had.keeps(smp.Name)
		switch {
		case smp.Repeat && stored:
		case smp.Repeat:
			ps.repeats = append(ps.repeats, repeatValue{at: len(ps.values), v: v})
		default:
			if stored {
				ps.stored = append(ps.stored, int32(len(ps.values)))
			}
			s.appendValue(ps, sel, smp.Name, smp.Family, v)
		}
		return nil
	}
	var n int
	if sb != nil {
		// The pod's memo spares parsing again the labels of the lines it exposed the
		// same way last time; their slots hold the series' cache entries.
		n, err = p.ParseMemo(body, format, &sb.cache.memo, func(smp *exposition.Sample) error {
			smp2, err := sb.sample(smp, scrapedAt)
			if !smp.Stored {
				ps.series = append(ps.series, smp2)
			}
			return err
		})
	} else {
		n, err = p.Parse(body, format, emit)
	}
	ps.scraped = n
	// Both are samples Prometheus scrapes and does not store, the scrape standing.
	ps.dropped = p.Duplicates() + p.OutOfBounds()
	switch {
	case err == nil:
		return nil
	case read.err != nil && errors.Is(err, read.err):
		return fmt.Errorf("read body: %w", err)
	}
	return fmt.Errorf("parse %s body: %w", formatName(format), err)
}

func (s *PodScrapingSource) appendSynthetic(ps *podScrape, sel *selection, name string, v float64, ts time.Time) {
	if !sel.all && !sel.wants(name, name) {
		return
	}
	s.appendValue(ps, sel, name, name, syntheticValue(name, v, ts, &ps.target))
}

// appendValue keeps v and records which of the selection's names it answers.
func (s *PodScrapingSource) appendValue(ps *podScrape, sel *selection, name, family string, v source.MetricValue) {
	idx := int32(len(ps.values))
	ps.values = append(ps.values, v)
	if len(sel.names) == 0 {
		return
	}
	if i, ok := sel.index[name]; ok {
		ps.matches[i] = append(ps.matches[i], idx)
	}
	if family != name {
		if i, ok := sel.index[family]; ok {
			ps.matches[i] = append(ps.matches[i], idx)
		}
	}
}

// podLabels builds a sample's label map: the exposed labels, __name__, pod and the pod
// labels PodLabels maps. An exposed label that collides with pod or a mapped pod label is
// kept as exported_<name> (Prometheus' honor_labels: false).
func podLabels(smp *exposition.Sample, t *target) map[string]string {
	labels := make(map[string]string, len(smp.Labels)+2+len(t.labels))
	for _, l := range smp.Labels {
		labels[l.Name] = l.Value
	}
	setTargetLabels(labels, t.name, t.labels)
	labels["__name__"] = smp.Name
	return labels
}

// exportedName is the name an exposed label called name is kept under when the scraper
// sets name itself: exported_<name>, prefixed again while taken in labels by a value (an
// empty one is no label), as Prometheus does with honor_labels: false.
func exportedName(labels map[string]string, name string) string {
	name = "exported_" + name
	for labels[name] != "" {
		name = "exported_" + name
	}
	return name
}

// maxQuotedHeader is how much of a response header a pod's error quotes.
const maxQuotedHeader = 256

// cut returns a header value to quote in an error, cut to maxQuotedHeader bytes: a pod
// may send megabytes of it, and its error is kept, shown and logged for every scrape.
func cut(v string) string {
	if len(v) <= maxQuotedHeader {
		return v
	}
	return v[:maxQuotedHeader] + "..."
}

// maxRequestErrorText bounds the text of a pod's request error: net/http quotes a
// malformed status line or header line whole, up to the headers' 64 KiB bound.
const maxRequestErrorText = 512

// longError is an error whose text is cut to maxRequestErrorText bytes; errors.Is and
// errors.As reach the error it wraps, whole.
type longError struct{ err error }

func (e *longError) Error() string {
	msg := e.err.Error()
	n := maxRequestErrorText
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "..."
}

func (e *longError) Unwrap() error { return e.err }

// shortError returns err, its text cut when over maxRequestErrorText bytes.
func shortError(err error) error {
	if len(err.Error()) <= maxRequestErrorText {
		return err
	}
	return &longError{err: err}
}

func formatName(f exposition.Format) string {
	if f == exposition.FormatOpenMetrics {
		return "OpenMetrics"
	}
	return "text format"
}

// capReader fails a read that would go past limit bytes.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the cap: one more byte means the body is over it.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: over the %d-byte limit (MaxBodyBytes)", ErrBodyTooLarge, c.limit)
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// requestStage is how far a pod's request got before its response's headers: what a
// timeout that cut it says, since the context's error alone ("context deadline
// exceeded") reads the same for a pod that could not be reached, one that hung in the
// TLS handshake, and one that took the request and never answered.
type requestStage struct{ at atomic.Int32 }

const (
	stageConnecting int32 = iota
	stageTLS
	stageSending
	stageWaiting
	stageHeaders
)

var stageNames = [...]string{
	stageConnecting: "connecting",
	stageTLS:        "in the TLS handshake",
	stageSending:    "sending the request",
	stageWaiting:    "waiting for the response",
	stageHeaders:    "reading the response headers",
}

// trace returns the client trace that moves the stage on.
func (st *requestStage) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		TLSHandshakeStart:    func() { st.at.Store(stageTLS) },
		GotConn:              func(httptrace.GotConnInfo) { st.at.Store(stageSending) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { st.at.Store(stageWaiting) },
		GotFirstResponseByte: func() { st.at.Store(stageHeaders) },
	}
}

// cut returns the request's err with the stage it was cut at, when the deadline of ctx
// (the scrape's) cut it; other errors say what failed already. A network timeout past
// that deadline is the deadline's doing: the dialer's own deadline is the context's, and
// whichever fires first ends the dial ("dial tcp ...: i/o timeout" or the context's
// error).
func (st *requestStage) cut(ctx context.Context, err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &netErr) && netErr.Timeout() && deadlinePassed(ctx):
		err = &deadlineError{err: err}
	default:
		return err
	}
	return fmt.Errorf("%s: %w", stageNames[st.at.Load()], err)
}

// deadlinePassed reports whether ctx has a deadline and it has passed.
func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// deadlineError is a network timeout a scrape's deadline caused: errors.Is finds
// context.DeadlineExceeded, so ScrapeReason says ReasonTimeout, as for the context's
// own error.
type deadlineError struct{ err error }

func (e *deadlineError) Error() string { return e.err.Error() }

func (e *deadlineError) Unwrap() error { return e.err }

// Is reports context.DeadlineExceeded as what e is.
func (e *deadlineError) Is(target error) bool { return target == context.DeadlineExceeded }
