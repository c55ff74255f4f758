package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the control plane every test of the package shares; each test works in a
// namespace of its own.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	if runServerFarm() {
		return
	}
	baseline := goleak.IgnoreCurrent()
	var err error
	cp, err = localcluster.Start(localcluster.Options{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stopBenchServices() // their informers' watches would hold the API server's shutdown
	if err := cp.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(verifyNoLeaks(code, baseline))
}
