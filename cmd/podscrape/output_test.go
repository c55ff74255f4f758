package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// TestOutputClosedOnEveryWritePath writes to a pipe whose reader is gone each way the
// commands write: every way fails with errOutputClosed, which run turns into a quiet
// exit 141, not only output.Write called directly (io.WriteString and io.Copy call a
// writer's WriteString and ReadFrom when it has them).
func TestOutputClosedOnEveryWritePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"Write", func(w io.Writer) error { _, err := w.Write([]byte("x\n")); return err }},
		{"io.WriteString", func(w io.Writer) error { _, err := io.WriteString(w, "x\n"); return err }},
		{"fmt.Fprintf", func(w io.Writer) error { _, err := fmt.Fprintf(w, "%s\n", "x"); return err }},
		// A LimitedReader has no WriteTo: io.Copy goes through the writer's ReadFrom.
		{"io.Copy", func(w io.Writer) error {
			_, err := io.Copy(w, io.LimitReader(strings.NewReader("x\n"), 2))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			// Not descriptor 1 or 2: the runtime fails the write with EPIPE, no SIGPIPE.
			if err := tc.write(output{w}); !errors.Is(err, errOutputClosed) {
				t.Fatalf("got %v, want errOutputClosed", err)
			}
		})
	}
}
