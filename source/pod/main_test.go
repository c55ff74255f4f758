package pod

import (
	"fmt"
	"os"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the real control plane of this package's tests that need one.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	var err error
	cp, err = localcluster.Start(localcluster.Options{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := cp.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}
