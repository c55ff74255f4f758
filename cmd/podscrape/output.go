package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// errOutputClosed is what a write to a closed stdout or stderr returns ("| head"): run
// then ends the command quietly with exitBrokenPipe.
var errOutputClosed = errors.New("output closed")

// output is the process's stdout or stderr. A write to it that fails because the reader
// went away returns errOutputClosed, so that the command tells a closed stdout from a
// broken connection to a pod, which fails with EPIPE too.
//
// The file is a field, not embedded: embedded, its WriteString and ReadFrom would be
// output's too, and io.WriteString and io.Copy would call them past Write's mapping.
type output struct{ f *os.File }

func (o output) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		err = fmt.Errorf("%w: %w", errOutputClosed, err)
	}
	return n, err
}

// Fd is the file's descriptor, for isTerminal.
func (o output) Fd() uintptr { return o.f.Fd() }

// takeSIGPIPE keeps the runtime from killing the process on a write to a closed stdout,
// which it does unless SIGPIPE is notified: the write fails instead (see output), and the
// command stops what it started (the demo's servers, control plane and directories)
// before it exits. The signal itself is dropped: a connection to a pod closed under a
// write raises it too, and must not end the command.
func takeSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
