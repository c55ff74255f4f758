package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp and llmd are shared by every test of the package: one control plane, one install.
var (
	cp   *localcluster.ControlPlane
	llmd *localcluster.LLMD
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cp, err = localcluster.Start(localcluster.Options{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	llmd, err = cp.InstallLLMD(ctx, localcluster.LLMDOptions{Seed: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := llmd.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close llm-d:", err)
		}
	}()
	return m.Run()
}
