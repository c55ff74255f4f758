package exposition

import (
	"errors"
	"fmt"
	"mime"
)

// ErrUnsupportedContentType is returned (wrapped) by ParseContentType for a
// Content-Type this package cannot parse, such as protobuf, JSON or HTML.
var ErrUnsupportedContentType = errors.New("unsupported Content-Type")

// ParseContentType returns the Format of a response from its Content-Type header.
//
// An empty Content-Type, and text/plain with any version or none, is FormatText (the
// text/plain version 1.0.0 of Prometheus 3 is the text format with quoted UTF-8 names,
// which the Parser reads). application/openmetrics-text with any version but 2.0.0
// (which Prometheus v0.316 refuses by default, as this does), or none, is
// FormatOpenMetrics. Other parameters are ignored: charset, and escaping (the
// names are read as the target wrote them, escaped or not, as Prometheus reads them).
// Anything else is an error wrapping ErrUnsupportedContentType that quotes the header
// and names the supported types.
func ParseContentType(contentType string) (Format, error) {
	switch contentType {
	case "", textContentType, textContentType + "; charset=utf-8",
		textContentType + "; charset=utf-8; escaping=underscores",
		textContentType + "; charset=utf-8; escaping=allow-utf-8":
		return FormatText, nil
	case openMetricsContentType, openMetricsContentType + "; charset=utf-8",
		openMetricsContentType + "; charset=utf-8; escaping=allow-utf-8",
		openMetricsContentType + "; charset=utf-8; escaping=underscores":
		return FormatOpenMetrics, nil
	}
	// The header is quoted cut: a pod may send megabytes of it, and its error is kept
	// and shown for every scrape.
	quoted := truncate([]byte(contentType), maxQuotedInput)
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %w; want %s", ErrUnsupportedContentType, quoted, err, supportedTypes)
	}
	switch mediaType {
	case "text/plain":
		return FormatText, nil
	case "application/openmetrics-text":
		// Prometheus v0.316 reads every version as OpenMetrics 1 but 2.0.0, which it
		// refuses unless its openmetrics2 feature flag is set.
		if v := params["version"]; v == "2.0.0" {
			return 0, fmt.Errorf("%w %q: OpenMetrics version %q; want 1.0.0 or 0.0.1",
				ErrUnsupportedContentType, quoted, v)
		}
		return FormatOpenMetrics, nil
	}
	return 0, fmt.Errorf("%w %q; want %s", ErrUnsupportedContentType, quoted, supportedTypes)
}

// The Content-Types client_golang and prometheus_client (Python) write, recognised without
// parsing, with the charset and escaping parameters client_golang adds to them (its
// answers to AcceptHeader).
const (
	textContentType        = "text/plain; version=0.0.4"
	openMetricsContentType = "application/openmetrics-text; version=1.0.0"
)

const supportedTypes = "text/plain (Prometheus text format 0.0.4) or application/openmetrics-text (OpenMetrics 1.0)"
