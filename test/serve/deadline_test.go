package serve

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// TestACallersDeadlineReachesServe: a controller refreshes the Prometheus source on
// serve (--max-age) with a reconcile deadline of 2 s, shorter than the source's
// QueryTimeout (10 s), while a pod hangs. The timeout the source sends serve is what is
// left of the caller's deadline, so serve stops waiting for the hung pod in time and
// answers from its latest scrape, with the warning naming the late Service. Told the
// QueryTimeout instead, serve waited for the pod's 5 s scrape timeout, and the
// controller's Refresh failed with its deadline: no answer at all.
func TestACallersDeadlineReachesServe(t *testing.T) {
	svc, promSrc := waitingThroughServe(t)
	want, err := promSrc.Refresh(t.Context(), source.RefreshSpec{}) // the latest scrape's answer, both pods up
	if err != nil {
		t.Fatal(err)
	}

	released := make(chan struct{})
	t.Cleanup(func() { close(released) })
	svc.Pods()[1].SetHandler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // a hung pod: it answers nothing until the scraper gives up
		case <-r.Context().Done():
		case <-released:
		}
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	results, err := promSrc.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatalf("Refresh with a 2 s deadline and a hung pod: %v, want serve's answer from its latest scrape", err)
	}
	got := results["waiting"]
	late := "service " + svc.Namespace + "/" + svc.Name + ": the scrape --max-age asked for did not finish within the query's timeout of 1s"
	if got.Error != nil || len(got.Values) != 1 || got.Values[0].Value != want["waiting"].Values[0].Value || len(got.Warnings) != 1 || !strings.HasPrefix(got.Warnings[0], late) {
		t.Errorf("got %v (error %v, warnings %q); want the latest scrape's %v and one warning starting %q", got.Values, got.Error, got.Warnings, want["waiting"].Values, late)
	}
}
