package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// run executes the podscrape command line args, writing to stdout and stderr, and
// returns the exit code. ctx ends the command (Ctrl-C).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if errors.Is(err, errOutputClosed) {
		return exitBrokenPipe // stdout was closed ("| head"): nobody is reading, say nothing
	}
	code := exitCode(err)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s\n", errorText(err))
		if code == exitUsage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

// isKubectlPlugin reports whether the binary runs as a kubectl plugin: installed on PATH
// as kubectl-podscrape, kubectl runs it for "kubectl podscrape".
func isKubectlPlugin(arg0 string) bool {
	return strings.HasPrefix(filepath.Base(arg0), "kubectl-")
}

// newRootCommand builds the command tree. The kubectl flags (--kubeconfig, --context,
// -n, ...) are persistent, so they go before or after the subcommand; kubectl's --token
// (for the API server) is left out: podscrape's --token is the pods' Bearer token.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	kube := &kubeFlags{}
	var verbosity int
	root := &cobra.Command{
		Use:   "podscrape",
		Short: "Scrape Prometheus metrics straight from the Ready pods behind a Kubernetes Service",
		Long: `podscrape scrapes Prometheus-format metrics straight from the Ready pods behind a
Kubernetes Service, with no Prometheus in between: the Service's selector finds the pods,
each Ready pod's IP is scraped, and every sample comes back labelled with its pod.

` + demoHelpLine + `  podscrape scrape vllm -n llm-d --port 8000        scrape a Service of your cluster`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := kube.validate(); err != nil {
				return err
			}
			kube.abortRequestsOn(cmd.Context())
			log := logr.Discard()
			if verbosity > 0 {
				log = funcr.New(func(prefix, args string) {
					fmt.Fprintln(stderr, prefix, args)
				}, funcr.Options{Verbosity: verbosity})
			}
			cmd.SetContext(ctrllog.IntoContext(cmd.Context(), log))
			return nil
		},
	}
	if isKubectlPlugin(os.Args[0]) {
		// kubectl runs kubectl-podscrape for "kubectl podscrape ...": say so in help and
		// usage, once every command is added.
		defer asKubectlPlugin(root)
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	kube.addFlags(root.PersistentFlags())
	root.PersistentFlags().IntVarP(&verbosity, "verbosity", "v", 0, "log level on stderr: 1 logs each failed pod scrape")
	root.AddCommand(newScrapeCommand(kube, stdout, stderr), newQueryCommand(kube, stdout, stderr), newDemoCommand(stdout, stderr))
	root.AddCommand(newServeCommand(kube, stdout, stderr))
	return root
}
