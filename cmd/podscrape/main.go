package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	// Everything logs through the context's logger (see newRootCommand); this only stops
	// controller-runtime from warning that no global logger was set.
	ctrllog.SetLogger(logr.Discard())
	quietStdLog(os.Stderr)
	// Ctrl-C, SIGTERM and a closed terminal (SIGHUP) end the command through its context,
	// so the demo always stops its servers and control plane and removes its directories.
	// A closed stdout ("| head") ends it through the failed write (see output).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	takeSIGPIPE()
	code := run(ctx, os.Args[1:], output{os.Stdout}, output{os.Stderr})
	stop()
	os.Exit(code)
}
