package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// Format is an output format of the -o flag.
type Format string

// The formats, by their -o name.
const (
	FormatTable Format = "table"
	FormatWide  Format = "wide"
	FormatJSON  Format = "json"
	FormatProm  Format = "prom"
)

// Formats lists every Format, in the order help texts show them.
func Formats() []Format { return []Format{FormatTable, FormatWide, FormatJSON, FormatProm} }

// FormatNames is the formats joined by "|", for help texts and errors.
func FormatNames() string {
	names := make([]string, 0, 4)
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, "|")
}

// ParseFormat returns the Format named s; "" is table.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return FormatTable, nil
	}
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", s, FormatNames())
}

// Options says how Write renders a Snapshot.
type Options struct {
	// Format is the output format. The zero value is table.
	Format Format
	// Changes, for table and wide, adds what changed since the previous Snapshot (see
	// Diff). Nil: no CHANGE column.
	Changes *Changes
	// Compact writes json on one line, for a stream of documents.
	Compact bool
	// Error, for json, is why the refresh failed, written as the document's error: a
	// program reads a failed refresh from the document itself. "" for none; the table
	// formats leave it to the caller.
	Error string
}

// Write renders s to w in opts.Format.
func Write(w io.Writer, s *snapshot.Snapshot, opts Options) error {
	switch opts.Format {
	case FormatTable, "":
		return WriteTable(w, s, false, opts.Changes)
	case FormatWide:
		return WriteTable(w, s, true, opts.Changes)
	case FormatJSON:
		return writeJSON(w, s, opts.Error, opts.Compact)
	case FormatProm:
		return WriteProm(w, s)
	default:
		return fmt.Errorf("render: unknown format %q", opts.Format)
	}
}
