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
	// Ctrl-C, SIGTERM, a closed terminal (SIGHUP) and a closed stdout (SIGPIPE, as in
	// "| head") all end the command through its context, so the demo always stops its
	// servers and control plane and removes its directories; without this, SIGPIPE would
	// kill the process on the spot.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
