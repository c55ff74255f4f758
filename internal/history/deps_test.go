package history

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportsNoTSDBNorCloudSDKs: the history, and source/pod which builds on it, link
// Prometheus' promql and tsdb/chunkenc only. The tsdb package imports prometheus/config,
// which imports the remote-write auth of AWS, Azure and Google and gRPC: every program
// building a PodScrapingSource would carry them.
func TestImportsNoTSDBNorCloudSDKs(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	pkgs := []string{"github.com/podscrape/podscrape/internal/history", "github.com/podscrape/podscrape/source/pod"}
	out, err := exec.Command(goTool, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	// The tsdb package itself (not tsdb/chunkenc, nor tsdb/chunks which storage imports).
	exact := []string{"github.com/prometheus/prometheus/tsdb", "github.com/prometheus/prometheus/config"}
	prefixes := []string{"github.com/aws/", "github.com/Azure/", "cloud.google.com/", "google.golang.org/grpc",
		"github.com/prometheus/prometheus/config/"}
	var usesPromQL bool
	for _, dep := range deps {
		usesPromQL = usesPromQL || dep == "github.com/prometheus/prometheus/promql"
		bad := slices.Contains(exact, dep)
		for _, p := range prefixes {
			bad = bad || strings.HasPrefix(dep, p)
		}
		if bad {
			t.Errorf("%s imports %s: want Prometheus' promql and tsdb/chunkenc, not tsdb, config or cloud SDKs", strings.Join(pkgs, " and "), dep)
		}
	}
	if !usesPromQL {
		t.Fatalf("go list -deps: got %d packages without promql, want it (else this test proves nothing)", len(deps))
	}
}
