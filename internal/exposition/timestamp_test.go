package exposition

import (
	"slices"
	"strings"
	"testing"
)

// TestParseTimestampOutOfBounds: an OpenMetrics timestamp beyond int64 milliseconds drops
// its sample and counts it (OutOfBounds), as Prometheus' TSDB refuses that one sample;
// the line counts among the samples, and a later line of its series is kept, whatever
// Keep says.
func TestParseTimestampOutOfBounds(t *testing.T) {
	const input = "a 1 1e300\nb 2 -1e300\na 3 4\nc 5 9223372036854775.807\nc 6 9e15\n# EOF\n"
	for _, keep := range []func(string, string) bool{nil, func(string, string) bool { return false }} {
		p := NewParser(Options{Keep: keep})
		var got []string
		n, err := p.Parse(strings.NewReader(input), FormatOpenMetrics, func(s *Sample) error {
			got = append(got, format(*s))
			return nil
		})
		want := []string{`a/a{} 3 @4000`, `c/c{} 6 @9000000000000000000`}
		if keep != nil {
			want = nil
		}
		if err != nil || n != 5 || p.OutOfBounds() != 3 || p.Duplicates() != 0 || !slices.Equal(got, want) {
			t.Errorf("Keep %t: got %q, %d samples, %d out of bounds, %d repeats, %v; want %q, 5, 3, 0, nil",
				keep != nil, got, n, p.OutOfBounds(), p.Duplicates(), err, want)
		}
	}
}
