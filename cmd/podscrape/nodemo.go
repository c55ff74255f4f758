//go:build nodemo

package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// demoHelpLine is empty: the root command's help offers no demo this build lacks.
const demoHelpLine = ""

// errNoDemo is what demo answers in a binary built with -tags nodemo.
var errNoDemo = errors.New("this podscrape was built without the demo (-tags nodemo, as the container image is); " +
	"run 'make demo' in a clone of the repository")

// newDemoCommand stands for the demo in a binary built with -tags nodemo, as .ko.yaml
// builds the image: the demo links a local control plane (envtest) and its simulated
// pods, about 11 MB that a program serving in a cluster never runs and a scanner would
// still report. The command stays, so that "podscrape demo" says why it is missing.
func newDemoCommand(_, _ io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "demo",
		Short:  "Not in this build: run 'make demo' in a clone of the repository",
		Hidden: true,
		// Whatever flags the demo was given, the answer is why it is missing.
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return runE(func() error { return errNoDemo }) },
	}
}
