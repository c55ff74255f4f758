package exposition

import (
	"hash/maphash"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestParseDuplicates: a repeated series (same name and label set, as stored) keeps its
// first sample; the repeat is dropped and counted, and Parse does not fail. Keep changes
// neither the count nor what is dropped.
func TestParseDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		input  string
		want   []string
		dups   int
	}{
		{"repeat", FormatText, "a 1\nb 1\na 2\n", []string{`a/a{} 1`, `b/b{} 1`}, 1},
		{"labels reordered", FormatText, "a{x=\"1\",y=\"2\"} 1\nb 1\na{y=\"2\",x=\"1\"} 2\n", []string{`a/a{x="1",y="2"} 1`, `b/b{} 1`}, 1},
		{"empty braces", FormatText, "a 1\na{} 2\n", []string{`a/a{} 1`}, 1},
		{"quoted name", FormatText, "a 1\n{\"a\"} 2\n", []string{`a/a{} 1`}, 1},
		{"quoted name after a label", FormatText, "a{b=\"c\"} 1\n{b=\"c\",\"a\"} 2\n", []string{`a/a{b="c"} 1`}, 1},
		{"same stored value, other escapes", FormatText, `a{b="\q"} 1` + "\n" + `a{b="\\q"} 2` + "\n", []string{`a/a{b="\\q"} 1`}, 1},
		{"le as stored", FormatText, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 3\n", []string{`h/h_bucket{le="1.0"} 1`, `h/h_bucket{le="+Inf"} 3`}, 1},
		// A repeat with a later timestamp of its own is a further sample, as Prometheus stores it.
		{"with a later timestamp", FormatText, "a 1 1000\na 2 2000\n", []string{`a/a{} 1 @1000`, `a/a{} 2 @2000`}, 0},
		{"with the same or an earlier timestamp", FormatText, "a 1 2000\na 2 2000\na 3 1000\na 4\n", []string{`a/a{} 1 @2000`}, 3},
		{"later than a later repeat", FormatText, "a 1 1000\na 2 3000\na 3 2000\na 4 4000\n", []string{`a/a{} 1 @1000`, `a/a{} 2 @3000`, `a/a{} 4 @4000`}, 1},
		{"with a timestamp after the scrape's", FormatText, "a 1\na 2 2000\n", []string{`a/a{} 1`, `a/a{} 2 @2000`}, 0},
		{"three times", FormatText, "a 1\na 2\na 3\n", []string{`a/a{} 1`}, 2},
		{"different values of a label", FormatText, "a{x=\"1\"} 1\na{x=\"2\"} 1\n", []string{`a/a{x="1"} 1`, `a/a{x="2"} 1`}, 0},
		{"label moved to the name", FormatText, "ab{c=\"d\"} 1\na{bc=\"d\"} 2\n", []string{`ab/ab{c="d"} 1`, `a/a{bc="d"} 2`}, 0},
		{"openmetrics", FormatOpenMetrics, "# TYPE a counter\na_total 1\na_total 2\n# EOF\n", []string{`a/a_total{} 1`}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, keep := range []struct {
				name string
				keep func(name, family string) bool
				want []string
			}{
				{"nil", nil, tc.want},
				{"none", func(string, string) bool { return false }, nil},
			} {
				p := NewParser(Options{Interner: NewInterner(100), Keep: keep.keep})
				for round := range 2 { // the second round runs on a used Parser
					var got []string
					n, err := p.Parse(strings.NewReader(tc.input), tc.format, func(s *Sample) error {
						got = append(got, format(*s))
						return nil
					})
					if err != nil {
						t.Fatalf("Keep %s, round %d: Parse: %v", keep.name, round, err)
					}
					if !slices.Equal(got, keep.want) {
						t.Errorf("Keep %s, round %d: got %q, want %q", keep.name, round, got, keep.want)
					}
					if got := p.Duplicates(); got != tc.dups {
						t.Errorf("Keep %s, round %d: got %d duplicates, want %d", keep.name, round, got, tc.dups)
					}
					if want := len(tc.want) + tc.dups; n != want {
						t.Errorf("Keep %s, round %d: got %d samples, want %d (repeats count)", keep.name, round, n, want)
					}
				}
			}
		})
	}
}

// TestParseDuplicatesReset: the count is the latest exposition's.
func TestParseDuplicatesReset(t *testing.T) {
	p := NewParser(Options{})
	if _, err := p.Parse(strings.NewReader("a 1\na 2\n"), FormatText, nil); err != nil || p.Duplicates() != 1 {
		t.Fatalf("got %d duplicates, %v; want 1, nil", p.Duplicates(), err)
	}
	if _, err := p.Parse(strings.NewReader("a 1\nb 2\n"), FormatText, nil); err != nil || p.Duplicates() != 0 {
		t.Errorf("got %d duplicates, %v; want 0, nil", p.Duplicates(), err)
	}
}

// TestSampleHash: Parsers with the same HashSeed give a series the same Hash in every
// exposition, whatever the order of its labels or the spelling of its le value; other
// series get other hashes.
func TestSampleHash(t *testing.T) {
	seed := maphash.MakeSeed()
	hashes := func(p *Parser, input string) map[string]uint64 {
		t.Helper()
		got, err := collect(t, p, []byte(input), FormatText)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]uint64{}
		for i, s := range got {
			out[strconv.Itoa(i)] = s.Hash
		}
		return out
	}
	const first = "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\nq{x=\"1\"} 1\nq{x=\"2\"} 1\nr{x=\"1\"} 1\n"
	const second = "# TYPE h histogram\nh_bucket{le=\"1.0\",a=\"1\"} 5\nh_bucket{le=\"+Inf\",a=\"1\"} 6\nq{x=\"1\"} 7\nq{x=\"2\"} 8\nr{x=\"1\"} 9\n"
	a := hashes(NewParser(Options{HashSeed: seed}), first)
	b := hashes(NewParser(Options{HashSeed: seed, Interner: NewInterner(0)}), second)
	if !maps.Equal(a, b) {
		t.Errorf("the same series in two expositions through two parsers of one seed: %v and %v; want equal", a, b)
	}
	seen := map[uint64]string{}
	for i, h := range a {
		if j, ok := seen[h]; ok {
			t.Errorf("samples %s and %s are different series with the same Hash %x", i, j, h)
		}
		seen[h] = i
	}
	if c := hashes(NewParser(Options{}), first); maps.Equal(a, c) {
		t.Errorf("a Parser of its own seed gave the seeded Parser's hashes: %v", c)
	}
}

// TestParsePoints: with the Points of its target, a series with several points of their
// own timestamps has those at or before the previous exposition's latest marked Stored
// (the store has them, or would refuse them), the later ones not; a series with one
// point is not tracked; a failed parse leaves the Points as they were.
func TestParsePoints(t *testing.T) {
	var pts Points
	p := NewParser(Options{})
	for _, step := range []struct {
		input string
		want  []string // each emitted sample's name, timestamp and whether Stored
		fails bool
	}{
		{"x 1 1000\nx 2 2000\nx 3 3000\ny 1 1000\n", []string{"x@1000", "x@2000", "x@3000", "y@1000"}, false},
		{"x 1 1000\nx 2 2000\nx 3 3000\nx 4 4000\ny 1 1000\n", []string{"x@1000 stored", "x@2000 stored", "x@3000 stored", "x@4000", "y@1000"}, false},
		{"x 5 5000\nbad{\n", nil, true},
		{"x 1 1000\nx 5 5000\n", []string{"x@1000 stored", "x@5000"}, false},
		{"x 5 5000\n", []string{"x@5000 stored"}, false}, // one point now, still tracked
		{"y 1 1000\n", []string{"y@1000"}, false},
		{"x 5 5000\n", []string{"x@5000"}, false}, // forgotten once not exposed
	} {
		p.SetPoints(&pts)
		var got []string
		_, err := p.Parse(strings.NewReader(step.input), FormatText, func(s *Sample) error {
			g := s.Name + "@" + strconv.FormatInt(s.TimestampMs, 10)
			if s.Stored {
				g += " stored"
			}
			got = append(got, g)
			return nil
		})
		if (err != nil) != step.fails || (!step.fails && !slices.Equal(got, step.want)) {
			t.Errorf("%q: got %q, %v; want %q, failing %t", step.input, got, err, step.want, step.fails)
		}
		pts.Commit() // the samples stored (nothing to commit after a failed parse)
	}
	// Without Points, nothing is marked.
	_, _ = p.Parse(strings.NewReader("x 1 1000\n"), FormatText, func(s *Sample) error {
		if s.Stored {
			t.Errorf("without Points: %s marked Stored", s.Name)
		}
		return nil
	})
}

// A pod's exposition that once held 200,000 series (a label's cardinality blowing up
// until a rollout fixes it) must not leave every Parser it went through holding a table
// for 200,000 series for as long as the process runs (and clearing it at every later
// parse): once the expositions it parses stay far smaller for seriesShrinkAfter parses,
// the table is given back. A steady large exposition keeps its table: it is not
// reallocated at each parse.
func TestSeriesTableGivenBackAfterASpike(t *testing.T) {
	var big strings.Builder
	for i := range 200_000 {
		big.WriteString("spike{id=\"" + strconv.Itoa(i) + "\"} 1")
		if i%2 == 0 {
			big.WriteString(" 1700000000000") // own timestamps: the set keeps their times too
		}
		big.WriteByte('\n')
	}
	small := []byte("queue 1\nrunning 2\nwaiting 3\n")
	p := NewParser(Options{})
	parse := func(data []byte) {
		t.Helper()
		if _, err := p.Parse(strings.NewReader(string(data)), FormatText, func(*Sample) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	parse([]byte(big.String()))
	spiked := p.series.retained()
	// A steady large exposition: the table is kept, not made again.
	parse([]byte(big.String()))
	if got := p.series.retained(); got != spiked {
		t.Fatalf("a second parse of the same exposition changed the series table from %d to %d bytes", spiked, got)
	}
	for range seriesShrinkAfter + 1 {
		parse(small)
	}
	// FuzzParse's bound on what a Parser keeps for its input.
	if limit := 512<<10 + 64*len(small); p.retained() > limit {
		t.Fatalf("after %d parses of %d bytes, the Parser keeps %d bytes (%d of them the series table of the 200,000-series exposition before), want at most %d",
			seriesShrinkAfter+1, len(small), p.retained(), p.series.retained(), limit)
	}
	// And the set still tells repeats apart.
	if _, err := p.Parse(strings.NewReader("a 1\nb 2\na 3\n"), FormatText, func(*Sample) error { return nil }); err != nil || p.Duplicates() != 1 {
		t.Fatalf("after the table was given back: %d duplicates, error %v; want 1, none", p.Duplicates(), err)
	}
}

// TestParsePointsNotCommitted: a parse whose samples were never stored (no Commit: its
// scrape failed after it, or was given up) leaves the Points as they were, so the next
// parse passes on the points it noted, which the store lacks.
func TestParsePointsNotCommitted(t *testing.T) {
	var pts Points
	p := NewParser(Options{})
	parse := func(input string) []string {
		t.Helper()
		p.SetPoints(&pts)
		var got []string
		if _, err := p.Parse(strings.NewReader(input), FormatText, func(s *Sample) error {
			g := s.Name + "@" + strconv.FormatInt(s.TimestampMs, 10)
			if s.Stored {
				g += " stored"
			}
			got = append(got, g)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	parse("x 1 1000\nx 2 2000\n")
	pts.Commit()
	parse("x 1 1000\nx 2 2000\nx 3 3000\n") // never stored: no Commit
	if got, want := parse("x 1 1000\nx 2 2000\nx 3 3000\n"), []string{"x@1000 stored", "x@2000 stored", "x@3000"}; !slices.Equal(got, want) {
		t.Errorf("after a parse not committed: got %q, want %q", got, want)
	}
	pts.Commit()
	if got, want := parse("x 3 3000\nx 4 4000\n"), []string{"x@3000 stored", "x@4000"}; !slices.Equal(got, want) {
		t.Errorf("after a parse committed: got %q, want %q", got, want)
	}
}

// A pod's Points (kept for as long as the pod lives) must not keep the room of an
// exposition that once gave 200,000 series several points each after the pod went back
// to a few: the map that held them is given back, not cleared and kept for reuse; also
// when a second such exposition failed part-way (its notes are dropped, the map is not).
func TestPointsGiveBackTheRoomOfASpike(t *testing.T) {
	const small = "x 1 1000\nx 2 2000\n"
	var pts Points
	parse := func(input string, fails bool) {
		t.Helper()
		p := NewParser(Options{}) // a new one each time: only pts outlives the parse
		p.SetPoints(&pts)
		if _, err := p.Parse(strings.NewReader(input), FormatText, func(*Sample) error { return nil }); (err != nil) != fails {
			t.Fatalf("got error %v, want one: %t", err, fails)
		}
		pts.Commit()
	}
	parse(small, false)
	before := liveHeap()
	func() {
		var big strings.Builder
		for i := range 200_000 {
			id := strconv.Itoa(i)
			big.WriteString("spike{id=\"" + id + "\"} 1 1000\nspike{id=\"" + id + "\"} 2 2000\n")
		}
		parse(big.String(), false)
		if len(pts.latest) != 200_000 {
			t.Fatalf("the spike's Points hold %d series, want 200000", len(pts.latest))
		}
		parse(big.String()+"not an exposition{\n", true)
	}()
	for range 3 {
		parse(small, false)
	}
	after := liveHeap()
	if len(pts.latest) != 1 {
		t.Fatalf("Points hold %d series, want 1", len(pts.latest))
	}
	if growth := int64(after) - int64(before); growth > 1<<20 {
		t.Errorf("the Points of a pod back to one series keep %d KiB more than before its spikes of 200,000", growth>>10)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
