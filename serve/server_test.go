package serve_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/serve"
)

// Close unregisters the server's metrics and its sources' from the caller's Registerer:
// a Server can be built again on it (a controller rebuilding it on a config change), and
// a closed Server's series are not gathered any more.
func TestCloseUnregistersTheMetrics(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	reg := prometheus.NewRegistry()
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Registerer: reg}
	for i := range 2 {
		srv, err := serve.New(t.Context(), env.Client, cfg)
		if err != nil {
			t.Fatalf("New #%d on the same Registerer: %v", i+1, err)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), "podscrape_") {
				t.Errorf("after Close #%d: %s still registered", i+1, mf.GetName())
			}
		}
	}
}
