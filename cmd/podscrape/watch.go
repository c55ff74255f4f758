package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// clearScreen moves the cursor home and clears the terminal, for refreshing in place.
const clearScreen = "\x1b[H\x1b[2J"

// watch scrapes every target at once and then every interval until ctx ends, which is
// no error once a frame was written: that is how a watch stops. Cut short before its
// first frame, it has shown nothing, and returns ctx's error: an exit 0 with nothing
// written would read as an answer. Each refresh is one frame, written in one Write: for table and wide, a header
// line and each target's table with what changed since the previous frame, drawn over
// the previous frame on a terminal; for json, one compact document per target per line.
// A target that fails shows its error in the frame (json: the document's error, with
// the service and the time), and the watch goes on. A target's warnings (pods no longer
// scraped) end its table; with json they are in its document, and after the frame
// stderr gets what a one-shot scrape -o json writes there of each document
// (stderrNotes: failed pods, warnings, a --metric matching nothing; a failed refresh's
// error), which a person sees beside `| jq`.
//
// footer, when not nil, adds text at the end of each table frame.
func watch(ctx context.Context, out, stderr io.Writer, interval time.Duration, targets []*target, format render.Format, header func() string, footer func(context.Context) string) error {
	tty := isTerminal(out)
	prev := make([]*snapshot.Snapshot, len(targets))
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	wrote := false // a frame
	interrupted := func(t *target) error {
		if wrote {
			return nil
		}
		return fmt.Errorf("scrape service %s: interrupted before the first refresh was shown: %w", t.service, ctx.Err())
	}
	for {
		var frame bytes.Buffer
		var notes strings.Builder // json: the stderr lines of the frame's documents
		if format != render.FormatJSON {
			if tty {
				frame.WriteString(clearScreen)
			}
			fmt.Fprintf(&frame, "%s\n\n", header())
		}
		for i, t := range targets {
			started := time.Now()
			s, err := t.collect(ctx)
			if ctx.Err() != nil {
				return interrupted(t)
			}
			if s == nil && err != nil && format == render.FormatJSON {
				// Nothing scraped (the Service gone, the API down): a document saying so, or
				// the program reading the stream takes the last one for current.
				s = &snapshot.Snapshot{Service: t.service, CollectedAt: started}
			}
			if s != nil {
				opts := render.Options{Format: format, Compact: true}
				switch {
				case format != render.FormatJSON:
					opts.Changes = render.Diff(prev[i], s)
				case err != nil:
					opts.Error = err.Error()
				}
				if err := render.Write(&frame, s, opts); err != nil {
					return err
				}
				if format == render.FormatJSON {
					notes.WriteString(stderrNotes(s, err != nil))
					if err != nil {
						// As a one-shot -o json ends: its document's error, on stderr too,
						// so that an empty document never reads as no load there.
						fmt.Fprintf(&notes, "Error: %s\n", errorText(err))
					}
				}
				prev[i] = s
			}
			if err != nil && format != render.FormatJSON {
				fmt.Fprintf(&frame, "Error: %s\n", errorText(err))
			}
			if format != render.FormatJSON && i < len(targets)-1 {
				frame.WriteString("\n")
			}
		}
		if footer != nil && format != render.FormatJSON {
			frame.WriteString("\n")
			frame.WriteString(footer(ctx))
			if ctx.Err() != nil {
				return interrupted(targets[len(targets)-1])
			}
		}
		if format != render.FormatJSON && !tty {
			frame.WriteString("\n") // frames appended, not drawn over: keep them apart
		}
		if _, err := out.Write(frame.Bytes()); err != nil {
			return err
		}
		// Diagnostics: a closed stderr does not stop the watch, as scrape's warnings.
		_, _ = io.WriteString(stderr, notes.String())
		wrote = true
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// isTerminal reports whether w is a terminal: a file (os.Stdout, or the output that
// wraps it) whose descriptor is one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
