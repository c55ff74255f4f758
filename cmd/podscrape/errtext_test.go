package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/podscrape/podscrape/source/pod"
)

// TestErrorTextIndents renders the shapes of error the CLI prints: the failed pods of an
// all-pods-failed error one per indented line, whatever their number, one pod on the
// first line, and any other line break indented.
func TestErrorTextIndents(t *testing.T) {
	podErr := func(name string) error {
		return &pod.ScrapeError{Pod: "llm-d/" + name, URL: "http://10.0.0.1:9090/metrics", Err: errors.New("HTTP status 401")}
	}
	allFailed := func(pods ...error) error {
		noun := "pods"
		if len(pods) == 1 {
			noun = "pod"
		}
		return fmt.Errorf("refresh service llm-d/epp: %w (%d %s): %w", pod.ErrAllPodsFailed, len(pods), noun, errors.Join(pods...))
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"two pods", allFailed(podErr("epp-0"), podErr("epp-1")),
			"refresh service llm-d/epp: every ready pod failed to scrape (2 pods):\n" +
				"  scrape pod llm-d/epp-0 (http://10.0.0.1:9090/metrics): HTTP status 401\n" +
				"  scrape pod llm-d/epp-1 (http://10.0.0.1:9090/metrics): HTTP status 401"},
		{"one pod", allFailed(podErr("epp-0")),
			"refresh service llm-d/epp: every ready pod failed to scrape (1 pod): scrape pod llm-d/epp-0 (http://10.0.0.1:9090/metrics): HTTP status 401"},
		{"lines", errors.Join(errors.New("first"), errors.New("second")), "first\n  second"},
		{"one line", errors.New("plain"), "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorText(tc.err); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
