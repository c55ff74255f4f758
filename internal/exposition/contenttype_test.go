package exposition

import (
	"errors"
	"strings"
	"testing"
)

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		want        Format
		wantErr     string // a substring of the error; empty for none
	}{
		{contentType: "", want: FormatText},
		{contentType: "text/plain", want: FormatText},
		{contentType: "text/plain; version=0.0.4", want: FormatText},
		{contentType: "text/plain; version=0.0.4; charset=utf-8", want: FormatText},
		{contentType: "text/plain;version=1.0.0;escaping=allow-utf-8", want: FormatText},
		{contentType: "Text/Plain; Version=0.0.4", want: FormatText},
		{contentType: "application/openmetrics-text", want: FormatOpenMetrics},
		{contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8", want: FormatOpenMetrics},
		{contentType: "application/openmetrics-text; version=0.0.1", want: FormatOpenMetrics},
		// What client_golang answers to AcceptHeader.
		{contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8", want: FormatOpenMetrics},
		{contentType: "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores", want: FormatOpenMetrics},
		{contentType: "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", want: FormatText},
		{contentType: "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8", want: FormatText},
		{contentType: "text/plain; version=0.0.4; charset=utf-8; escaping=values", want: FormatText},
		{contentType: "application/openmetrics-text; version=2.0.0", wantErr: `OpenMetrics version "2.0.0"; want 1.0.0 or 0.0.1`},
		// Prometheus reads any other version as OpenMetrics 1.
		{contentType: "application/openmetrics-text; version=0.0.2", want: FormatOpenMetrics},
		{contentType: "application/openmetrics-text; version=1.1.0; charset=utf-8", want: FormatOpenMetrics},
		{contentType: "text/html; charset=utf-8", wantErr: `"text/html; charset=utf-8"; want text/plain (Prometheus text format 0.0.4) or application/openmetrics-text (OpenMetrics 1.0)`},
		{contentType: "application/json", wantErr: `unsupported Content-Type "application/json"`},
		{contentType: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", wantErr: `unsupported Content-Type "application/vnd.google.protobuf;`},
		{contentType: "text/plain; version", wantErr: `unsupported Content-Type "text/plain; version": mime: invalid media parameter`},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			got, err := ParseContentType(tc.contentType)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrUnsupportedContentType) {
					t.Errorf("got error %v, want it to wrap ErrUnsupportedContentType", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{
		FormatText:        "Prometheus text 0.0.4",
		FormatOpenMetrics: "OpenMetrics 1.0",
		Format(9):         "Format(9)",
	} {
		if got := f.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
