package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
)

// TestQueryWatchGoesOnWhenARefreshFails deletes the Service a query --watch reads: the
// refreshes that cannot find it show the error in their frame (table) or document
// (json), and the watch goes on, answering again once the Service is back, as scrape's
// watch does, rather than end at the first failed discovery (an API blip).
func TestQueryWatchGoesOnWhenARefreshFails(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc := newTestService(t, "qwatch-"+format, exposing(textFormat, "# TYPE q gauge\nq 7\n"))
			header := "Every "
			if format == "json" {
				header = "{"
			}
			ch, stderr, _ := watchBinaryFrames(t, header, "-n", svc.namespace, "query", "sum(q)", svc.name,
				"--port", port(svc.port), "--watch", "50ms", "-o", format)
			// answered: the frame's value, or its error ("" when none).
			answered := func(frame string) (value, errText string) {
				if format == "json" {
					var doc render.QueryDocument
					if err := json.Unmarshal([]byte(frame), &doc); err != nil {
						t.Fatalf("frame is not a json document: %v\n%s", err, frame)
					}
					if len(doc.Series) == 1 {
						value = doc.Series[0].Value
					}
					return value, doc.Error
				}
				for line := range strings.Lines(frame) {
					if strings.HasSuffix(strings.TrimSpace(line), "{}") { // VALUE [TREND] {}
						value = strings.Fields(line)[0]
					}
					if e, ok := strings.CutPrefix(line, "Error: "); ok {
						errText = strings.TrimSpace(e)
					}
				}
				return value, errText
			}
			if v, e := answered(nextFrame(t, ctx, ch, stderr)); v != "7" || e != "" {
				t.Fatalf("first frame: got value %q and error %q, want 7 and none", v, e)
			}

			s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svc.namespace, Name: svc.name}}
			if err := cp.Client.Delete(ctx, s); err != nil {
				t.Fatal(err)
			}
			for {
				v, e := answered(nextFrame(t, ctx, ch, stderr))
				if e == "" {
					continue // refreshed before the deletion reached it
				}
				if v != "" || !strings.Contains(e, svc.namespace+"/"+svc.name) || !strings.Contains(e, "not found") {
					t.Fatalf("frame after the deletion: got value %q and error %q, want no value and the Service not found", v, e)
				}
				break
			}

			if err := cp.CreateService(ctx, svc.namespace, svc.name, svc.selector, svc.port); err != nil {
				t.Fatal(err)
			}
			for {
				if v, e := answered(nextFrame(t, ctx, ch, stderr)); e == "" {
					if v != "7" {
						t.Fatalf("frame once the Service is back: got value %q, want 7", v)
					}
					return
				}
			}
		})
	}
}
