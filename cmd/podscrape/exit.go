package main

import (
	"errors"
	"fmt"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1 // the command line was fine; the work failed (e.g. every pod failed)
	exitUsage   = 2 // the command line is wrong
	// exitBrokenPipe ends a command whose stdout was closed ("| head"), quietly, once
	// what it started is stopped: git and kubectl die of SIGPIPE there, which a shell
	// reports as 128+13.
	exitBrokenPipe = 141
)

// usageError is a wrong command line: an unknown or bad flag, a missing argument.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError; the message names the flag and says why.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// runtimeError is a failure of a command whose command line was fine.
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// exitCode maps an error of the command tree to the process exit code: runtime errors
// (marked by runE) are 1; usage errors, and every error cobra returns before a command
// runs (unknown command or flag, bad flag value, wrong arguments), are 2.
func exitCode(err error) int {
	var rt *runtimeError
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &rt):
		return exitRuntime
	default:
		return exitUsage
	}
}

// runE marks the errors of a command's run as runtime errors, usage errors aside.
func runE(run func() error) error {
	err := run()
	var usage *usageError
	if err == nil || errors.As(err, &usage) {
		return err
	}
	return &runtimeError{err: err}
}
