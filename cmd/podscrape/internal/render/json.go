package render

import (
	"encoding/json"
	"io"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// JSONDocument is the json format, one document per refresh; programs decode it. Its
// field names are a stable interface: fields are added, never renamed or removed.
type JSONDocument struct {
	Service     string       `json:"service"`
	CollectedAt time.Time    `json:"collectedAt"`
	Pods        []JSONPod    `json:"pods"`
	Samples     []JSONSample `json:"samples"`
	// Warnings are what the source noted about the refresh (snapshot.Snapshot.Warnings):
	// pods that answered earlier refreshes and are no longer scraped (not Ready,
	// finished), which pods and samples lack; absent when there are none.
	Warnings []string `json:"warnings,omitempty"`
	// Error is why the refresh failed (every pod failed, the Service not found, the API
	// server unreachable); absent when it did not.
	Error string `json:"error,omitempty"`
}

// JSONPod is one pod's status in a JSONDocument.
type JSONPod struct {
	Pod             string  `json:"pod"`
	Up              int     `json:"up"`
	DurationSeconds float64 `json:"durationSeconds"`
	Samples         int     `json:"samples"`
	Error           string  `json:"error,omitempty"`
	Reason          string  `json:"reason,omitempty"`
}

// JSONSample is one sample in a JSONDocument. Value is a string (see WriteJSON).
type JSONSample struct {
	Name      string            `json:"name"`
	Pod       string            `json:"pod"`
	Labels    map[string]string `json:"labels"`
	Value     string            `json:"value"`
	Timestamp time.Time         `json:"timestamp"`
}

// WriteJSON writes s as one JSON document (indented, or on one line when compact):
//
//	{"service": "ns/name", "collectedAt": "2026-01-02T03:04:05Z",
//	 "pods": [{"pod": "p", "up": 1, "durationSeconds": 0.002, "samples": 42,
//	           "error": "...", "reason": "http_status"}],
//	 "samples": [{"name": "m", "pod": "p", "labels": {"k": "v"}, "value": "1.5",
//	              "timestamp": "2026-01-02T03:04:05.123Z"}]}
//
// A sample's value is a string, as in the Prometheus HTTP API: JSON numbers cannot hold
// NaN, +Inf or -Inf, which are valid sample values ("NaN", "+Inf", "-Inf"); every other
// value is its shortest exact decimal form (strconv.ParseFloat reads it back exactly).
// labels never holds __name__ or pod (they are name and pod); error and reason are
// present only for a pod that failed; warnings ("warnings": ["service ns/name: ..."])
// only when the source noted pods no longer scraped. Times are RFC 3339 in UTC.
func WriteJSON(w io.Writer, s *snapshot.Snapshot, compact bool) error {
	return writeJSON(w, s, "", compact)
}

// writeJSON is WriteJSON with the refresh's error, "" for none, as the document's error.
func writeJSON(w io.Writer, s *snapshot.Snapshot, refreshErr string, compact bool) error {
	doc := JSONDocument{
		Service:     s.Service,
		CollectedAt: s.CollectedAt.UTC(),
		Pods:        make([]JSONPod, 0, len(s.Pods)),
		Samples:     make([]JSONSample, 0, len(s.Samples)),
		Warnings:    s.Warnings,
		Error:       refreshErr,
	}
	for _, p := range s.Pods {
		jp := JSONPod{Pod: p.Pod, DurationSeconds: p.DurationSeconds, Samples: p.Samples, Error: p.Error, Reason: p.Reason}
		if p.Up {
			jp.Up = 1
		}
		doc.Pods = append(doc.Pods, jp)
	}
	for _, smp := range s.Samples {
		labels := make(map[string]string, len(smp.Labels))
		for _, l := range smp.Labels {
			labels[l.Name] = l.Value
		}
		doc.Samples = append(doc.Samples, JSONSample{
			Name: smp.Name, Pod: smp.Pod, Labels: labels, Value: formatValue(smp.Value), Timestamp: smp.Timestamp.UTC(),
		})
	}
	enc := json.NewEncoder(w)
	if !compact {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(doc)
}
