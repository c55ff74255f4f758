package e2e

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"go.uber.org/goleak"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the control plane every test of the package shares; each test works in a
// namespace of its own.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	if runServerFarm() {
		return
	}
	// Tests that look at logs put their logger in the context; the global one is
	// silenced so controller-runtime does not warn that none was set.
	ctrllog.SetLogger(logr.Discard())
	baseline := goleak.IgnoreCurrent()
	code := localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		// Their informers' watches would hold the API server's shutdown.
		defer stopBenchServices()
		return m.Run()
	})
	os.Exit(verifyNoLeaks(code, baseline))
}
