package pod

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the real control plane of this package's tests that need one.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // controller-runtime would warn that none was set
	os.Exit(localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return m.Run()
	}))
}
