package localcluster_test

import (
	"os"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp and llmd are shared by every test of the package: one control plane, one install.
var (
	cp   *localcluster.ControlPlane
	llmd *localcluster.LLMD
)

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) != "" {
		os.Exit(orphanHelper())
	}
	os.Exit(localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return c.RunLLMD(localcluster.LLMDOptions{Seed: 1}, func(l *localcluster.LLMD) int {
			llmd = l
			return m.Run()
		})
	}))
}
