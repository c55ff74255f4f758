package podscrapetest_test

import (
	"context"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
)

// TestServiceKeepsItsOwnLabels: a test building several Services from one label map,
// edited between them, is ordinary Go. The Service kept the caller's map, not a copy, so
// a pod added later carried the edited labels: the other Service's selector, not its
// own, and its Service never scraped it (and the other Service scraped one pod too many).
func TestServiceKeepsItsOwnLabels(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{"app": "a"}
	a, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "a", Labels: labels, Pods: 1, Body: "# TYPE queue gauge\nqueue 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	labels["app"] = "b" // the map reused for another Service
	if _, err := a.AddPod(ctx, "a-late"); err != nil {
		t.Fatal(err)
	}
	if got := queues(refresh(t, a), "a-0", "a-late"); got["a-0"] != 1.0 || got["a-late"] != 1.0 {
		t.Fatalf("Service a after its label map was edited and a pod added: got %v, want both pods scraped, queue 1", got)
	}
}
