package exposition

import (
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// testSeed seeds the hashes of the Parsers a test compares.
var testSeed = maphash.MakeSeed()

// memoPairs are a target's exposition and its next one: what a Memo must not get wrong.
var memoPairs = []struct{ name, first, second string }{
	{"same", "# TYPE q gauge\nq{a=\"1\"} 1\nq{a=\"2\"} 2\nup 1\n", "# TYPE q gauge\nq{a=\"1\"} 5\nq{a=\"2\"} 6\nup 0\n"},
	// A repeat with a later timestamp of its own is passed on; one with the same or an
	// earlier one is not, its series' time known from a line found in the memo.
	{"timestamped repeat after distinct lines", "q{a=\"1\"} 1 1000\nz 2\n", "q{a=\"1\"} 1 1000\nz 2\nq{a=\"1\"} 3 2000\nq{a=\"1\"} 4 1500\n"},
	{"earlier repeat after distinct lines", "q{a=\"1\"} 1 1000\nz 2\n", "q{a=\"1\"} 1 1000\nz 2\nq{a=\"1\"} 3 500\n"},
	{"timestamped repeats memoized", "q 1 1000\nq 2 2000\nq 3 2000\n", "q 4 1000\nq 5 2000\nq 6 2000\n"},
	{"reordered", "q{a=\"1\"} 1\nq{a=\"2\"} 2\n", "q{a=\"2\"} 3\nq{a=\"1\"} 4\n"},
	{"inserted", "q{a=\"1\"} 1\nq{a=\"3\"} 3\n", "q{a=\"0\"} 0\nq{a=\"1\"} 1\nq{a=\"3\"} 3\n"},
	{"bare name gains labels", "q 1\n", "q {a=\"1\"} 2\n"},
	{"bare name gains labels without blank", "q 1\n", "q{a=\"1\"} 2\n"},
	{"no blank before the value", "q{a=\"1\"} 1\n", "q{a=\"1\"}2\n"},
	{"value blank turned tab", "q{a=\"1\"} 1\n", "q{a=\"1\"}\t2 1700000000000\n"},
	{"longer label value", "q{a=\"1\"} 1\n", "q{a=\"1\",b=\"2\"} 1\n"},
	{"type changes le", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n",
		"# TYPE h untyped\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n"},
	// A # HELP of another family resets the type, not the label rewritten as a float:
	// x's le is "1.0" after the histogram's # TYPE, "1" without it.
	{"HELP of another family after a TYPE", "# TYPE h histogram\n# HELP x some help\nx{le=\"1\"} 1\n",
		"# HELP x some help\nx{le=\"1\"} 1\n"},
	{"HELP of another family before a TYPE", "# HELP x some help\nx{le=\"1\"} 1\n",
		"# TYPE h histogram\n# HELP x some help\nx{le=\"1\"} 1\n"},
	// An OpenMetrics timestamp beyond int64 milliseconds drops its line (the text
	// format fails): its series is not seen, so a repeat of it is kept, found in the
	// memo or not.
	{"timestamp out of bounds, then a repeat", "q{a=\"1\"} 1 5\nz 2\n", "q{a=\"1\"} 1 1e300\nq{a=\"1\"} 2\n"},
	{"timestamp out of bounds, then in", "q{a=\"1\"} 1 1e300\nq{a=\"1\"} 2\n", "q{a=\"1\"} 1 5\nq{a=\"1\"} 2\n"},
	{"family changes", "# TYPE h summary\nh_count 1\nh_sum 2\n", "# TYPE h_count gauge\nh_count 1\nh_sum 2\n"},
	{"family changes, same type", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", "# TYPE h_bucket histogram\nh_bucket{le=\"1\"} 1\n"},
	{"quoted name", "{\"q.x\",a=\"1\"} 1\n{a=\"2\",\"q.x\"} 2\n", "{\"q.x\",a=\"1\"} 3\n{a=\"2\",\"q.x\"} 4\n"},
	{"escapes", "q{a=\"x\\\"}y\"} 1\n", "q{a=\"x\\\"}y\"} 2\nq{a=\"x\\\\\"} 3\n"},
	{"repeat", "q{a=\"1\"} 1\nq{a=\"2\"} 2\n", "q{a=\"1\"} 1\nq{a=\"1\"} 9\n"},
	// A repeat spelt otherwise than its first (labels reordered) whose line is found in
	// the memo: dropped now and, both lines found in the memo, the next time too.
	{"repeat found in the memo", "z 1\nq{b=\"2\",a=\"1\"} 2\n", "q{a=\"1\",b=\"2\"} 1\nq{b=\"2\",a=\"1\"} 2\n"},
	{"fewer lines", "a 1\nb 2\nc 3\n", "a 4\n"},
	{"timestamps", "q{a=\"1\"} 1 1700000000000\n", "q{a=\"1\"} 1 1700000001000\n"},
}

// emitted is what a parse emitted, with labels taken from the slot of a memoized line.
func parseWithMemo(t *testing.T, p *Parser, m *Memo, input string, f Format) (out []string, memoized int, err error) {
	t.Helper()
	_, err = p.ParseMemo(strings.NewReader(input), f, m, func(s *Sample) error {
		if s.Slot == nil {
			t.Fatalf("%s: no slot from ParseMemo", s.Name)
		}
		c := *s
		c.Slot, c.Memoized = nil, false
		if s.Memoized {
			if s.Labels != nil {
				t.Errorf("%s: memoized with labels %v", s.Name, s.Labels)
			}
			memoized++
			c.Labels = (*s.Slot).([]Label)
		} else {
			*s.Slot = slices.Clone(s.Labels)
		}
		out = append(out, describe(c))
		return nil
	})
	return out, memoized, err
}

func describe(s Sample) string {
	return fmt.Sprintf("%s/%s%v %v %d %v #%x repeat=%v", s.Family, s.Name, s.Labels, math.Float64bits(s.Value), s.TimestampMs, s.HasTimestamp, s.Hash, s.Repeat)
}

// TestParseMemoSameAsParse: a target's second exposition parsed with the Memo of its
// first gives exactly what Parse gives, whatever changed between them; what did not
// change is not parsed again.
func TestParseMemoSameAsParse(t *testing.T) {
	for _, tc := range memoPairs {
		eachFormat(t, tc.name, tc.first, tc.second, func(t *testing.T, f Format, first, second string) {
			opts := Options{HashSeed: testSeed}
			var m Memo
			p := NewParser(opts)
			if _, _, err := parseWithMemo(t, p, &m, first, f); err != nil {
				t.Skipf("first exposition fails: %v", err) // the pair is about the text format
			}
			got, _, gotErr := parseWithMemo(t, p, &m, second, f)
			want, wantErr := plain(t, NewParser(opts), second, f)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !slices.Equal(got, want) {
				t.Errorf("with the memo: %q, %v\nParse:         %q, %v", got, gotErr, want, wantErr)
			}
			// The same exposition again: every line that parsed is memoized.
			if wantErr == nil {
				again, memoized, err := parseWithMemo(t, p, &m, second, f)
				wantMemoized := len(want)
				if tc.name == "no blank before the value" {
					wantMemoized = 0 // only a series part followed by a blank is looked up
				}
				if err != nil || !slices.Equal(again, want) || memoized != wantMemoized {
					t.Errorf("the second exposition again: %q (%d memoized), %v; want %q, %d memoized", again, memoized, err, want, wantMemoized)
				}
			}
		})
	}
}

// TestParseMemoDroppedLineSharesASeries: a line dropped for its timestamp may share its
// series with a line kept, so the memo must not take its lines for distinct series: the
// next exposition, both lines found in the memo, would emit the series twice.
func TestParseMemoDroppedLineSharesASeries(t *testing.T) {
	opts := Options{HashSeed: testSeed}
	var m Memo
	p := NewParser(opts)
	for _, input := range []string{
		"q{a=\"1\"} 1 5\nz 2\n# EOF\n",
		"q{a=\"1\"} 1 1e300\nq{a=\"1\"} 2\n# EOF\n", // the first line found in the memo
		"q{a=\"1\"} 1 5\nq{a=\"1\"} 2\n# EOF\n",     // both found
	} {
		got, _, gotErr := parseWithMemo(t, p, &m, input, FormatOpenMetrics)
		want, wantErr := plain(t, NewParser(opts), input, FormatOpenMetrics)
		if gotErr != nil || wantErr != nil || !slices.Equal(got, want) {
			t.Errorf("%q with the memo: %q, %v\nParse: %q, %v", input, got, gotErr, want, wantErr)
		}
	}
}

// A failed parse empties the Memo, a Parse after a ParseMemo is a Parse, and a Memo whose
// slots the caller never fills memoizes nothing.
func TestParseMemoReset(t *testing.T) {
	p := NewParser(Options{HashSeed: testSeed})
	var m Memo
	const good = "q{a=\"1\"} 1\n"
	if _, _, err := parseWithMemo(t, p, &m, good, FormatText); err != nil {
		t.Fatal(err)
	}
	if _, _, err := parseWithMemo(t, p, &m, good+"not valid{\n", FormatText); err == nil {
		t.Fatal("an invalid exposition parsed")
	}
	if _, memoized, err := parseWithMemo(t, p, &m, good, FormatText); err != nil || memoized != 0 {
		t.Errorf("after a failed parse: %d memoized, %v; want none (the memo emptied)", memoized, err)
	}
	// A Parse after a ParseMemo whose lines were all found in the memo checks repeats
	// as ever.
	const two = good + "q{a=\"2\"} 2\n"
	for range 2 {
		if _, _, err := parseWithMemo(t, p, &m, two, FormatText); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Parse(strings.NewReader(two+good), FormatText, nil); err != nil || p.Duplicates() != 1 {
		t.Errorf("Parse after ParseMemo: %d repeats, %v; want 1", p.Duplicates(), err)
	}
	var unfilled Memo
	for range 2 {
		_, err := p.ParseMemo(strings.NewReader(good), FormatText, &unfilled, func(s *Sample) error {
			if s.Memoized {
				t.Error("a line came memoized though its slot was never filled")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseMemo: two expositions of one target, the second parsed with the first's Memo,
// give what Parse gives the second.
func FuzzParseMemo(f *testing.F) {
	for _, tc := range memoPairs {
		f.Add(tc.first, tc.second, false)
		f.Add(tc.first+"# EOF\n", tc.second+"# EOF\n", true)
	}
	f.Fuzz(func(t *testing.T, first, second string, om bool) {
		format := FormatText
		if om {
			format = FormatOpenMetrics
		}
		opts := Options{HashSeed: testSeed}
		var m Memo
		p := NewParser(opts)
		_, _, _ = parseWithMemo(t, p, &m, first, format)
		got, _, gotErr := parseWithMemo(t, p, &m, second, format)
		want, wantErr := plain(t, NewParser(opts), second, format)
		if (gotErr == nil) != (wantErr == nil) || (wantErr == nil && !slices.Equal(got, want)) {
			t.Errorf("with the memo: %q, %v\nParse:         %q, %v", got, gotErr, want, wantErr)
		}
	})
}

// plain parses input with Parse and describes what it emitted.
func plain(t *testing.T, p *Parser, input string, f Format) ([]string, error) {
	t.Helper()
	var out []string
	_, err := p.Parse(strings.NewReader(input), f, func(s *Sample) error {
		out = append(out, describe(*s))
		return nil
	})
	return out, err
}

// A target's Memo gives back what a spike of its exposition made it hold: a pod that
// exposed 100,000 lines once (a cardinality spike under the sample limit) and then 10
// kept 100,000 lines' room (64 bytes each) for as long as it lived, whether its next
// parses succeeded or failed.
func TestParseMemoShrinksAfterASpike(t *testing.T) {
	p := NewParser(Options{HashSeed: testSeed})
	var spike, small strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&spike, "m{i=\"%d\"} 1\n", i)
	}
	for i := range 10 {
		fmt.Fprintf(&small, "m{i=\"%d\"} 1\n", i)
	}
	for _, after := range []string{small.String(), small.String() + "not valid{\n"} {
		var m Memo
		for _, input := range []string{spike.String(), after, after} {
			_, _ = p.ParseMemo(strings.NewReader(input), FormatText, &m, func(*Sample) error { return nil })
		}
		if c := cap(m.lines); c > 4*len(m.lines)+minMemoRoom {
			t.Errorf("after %q: the memo holds room for %d lines to hold %d, want at most %d", after[len(after)-12:], c, len(m.lines), 4*len(m.lines)+minMemoRoom)
		}
	}
}

// A pod whose exposition once named 100,000 families (an exporter putting an id in its
// metric names, until a rollout fixes it) must not leave its Memo, nor the pooled Parsers
// that parsed it, holding room for 100,000 families: the Memo gives back its families'
// room at once, as its lines', and a Parser the map of what the metadata lines said of
// each family once seriesShrinkAfter expositions in a row needed far less.
func TestFamiliesGivenBackAfterASpike(t *testing.T) {
	p := NewParser(Options{HashSeed: testSeed})
	var m Memo
	parse := func(input string) {
		t.Helper()
		if _, err := p.ParseMemo(strings.NewReader(input), FormatText, &m, func(*Sample) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	const small = "# TYPE queue gauge\nqueue 1\n"
	parse(small)
	before := liveHeap()
	func() {
		var spike strings.Builder
		for i := range 100_000 {
			fmt.Fprintf(&spike, "# TYPE requests_for_id_%d counter\nrequests_for_id_%d 1\n", i, i)
		}
		parse(spike.String())
	}()
	if len(m.families) != 100_000 {
		t.Fatalf("the spike's Memo names %d families, want 100000", len(m.families))
	}
	for range seriesShrinkAfter + 1 {
		parse(small)
	}
	after := liveHeap()
	runtime.KeepAlive(p) // what it keeps is measured: it must not be collected
	if c := cap(m.families); c > 4*len(m.families)+minMemoRoom {
		t.Errorf("the memo holds room for %d families to hold %d, want at most %d", c, len(m.families), 4*len(m.families)+minMemoRoom)
	}
	if growth := int64(after) - int64(before); growth > 1<<20 {
		t.Errorf("the Parser and Memo of a pod back to one family keep %d KiB more than before its spike of 100,000", growth>>10)
	}
}

// helpPairs are a target's exposition and its next one whose # HELP texts differ.
var helpPairs = []struct{ name, first, second string }{
	{"same", "# HELP q a q\n# TYPE q gauge\nq 1\n", "# HELP q a q\n# TYPE q gauge\nq 2\n"},
	{"text changed", "# HELP q a q\nq 1\n# HELP r an r\nr 1\n", "# HELP q another q\nq 1\n# HELP r an r\nr 1\n"},
	{"escape changed", "# HELP q a\\nq\nq 1\n", "# HELP q a\\\\nq\nq 1\n"},
	{"quote escaped", "# HELP q a \"q\"\nq 1\n", "# HELP q a \\\"q\\\"\nq 1\n"},
	{"inserted before", "# HELP q a q\nq 1\n", "# HELP p a p\np 1\n# HELP q a q\nq 1\n"},
	{"removed before", "# HELP p a p\np 1\n# HELP q a q\nq 1\n", "# HELP q a q\nq 1\n"},
	{"swapped", "# HELP p one\np 1\n# HELP q two\nq 1\n", "# HELP p two\np 1\n# HELP q one\nq 1\n"},
	{"emptied", "# HELP q a q\nq 1\n", "# HELP q \nq 1\n"},
}

// TestParseMemoHelpSameAsParse: a target's next exposition parsed with the Memo of its
// previous one hands on the metadata Parse hands on, whatever # HELP text changed (a
// help text found in the Memo is not unescaped again: Parser.helpText).
func TestParseMemoHelpSameAsParse(t *testing.T) {
	for _, tc := range helpPairs {
		eachFormat(t, tc.name, tc.first, tc.second, func(t *testing.T, f Format, first, second string) {
			var got []Metadata
			p := NewParser(Options{HashSeed: testSeed, Metadata: func(m Metadata) { got = append(got, m) }})
			var want []Metadata
			plainParser := NewParser(Options{HashSeed: testSeed, Metadata: func(m Metadata) { want = append(want, m) }})
			var m Memo
			if _, _, err := parseWithMemo(t, p, &m, first, f); err != nil {
				t.Fatal(err)
			}
			for i := range 2 { // the second exposition, then again: each help found in the Memo
				got = nil
				if _, _, err := parseWithMemo(t, p, &m, second, f); err != nil {
					t.Fatal(err)
				}
				want = nil
				if _, err := plain(t, plainParser, second, f); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("parse %d with the memo: metadata %+v\nParse: %+v", i+1, got, want)
				}
			}
		})
	}
}

// eachFormat runs test on a target's exposition and its next one in each format, with
// OpenMetrics' # EOF appended, as a subtest named after the pair and the format.
func eachFormat(t *testing.T, name, first, second string, test func(t *testing.T, f Format, first, second string)) {
	for _, f := range []Format{FormatText, FormatOpenMetrics} {
		a, b := first, second
		if f == FormatOpenMetrics {
			a, b = a+"# EOF\n", b+"# EOF\n"
		}
		t.Run(fmt.Sprintf("%s/%s", name, f), func(t *testing.T) { test(t, f, a, b) })
	}
}

// TestParseMemoKeepsUnchangedHelp: a # HELP text unchanged since the previous exposition
// is the one the Memo kept, not unescaped and made again (with no Interner, made again
// it would be a new string); a changed one is made anew.
func TestParseMemoKeepsUnchangedHelp(t *testing.T) {
	var helps []string
	p := NewParser(Options{HashSeed: testSeed, Metadata: func(m Metadata) { helps = append(helps, m.Help) }})
	var m Memo
	parse := func(input string) []string {
		t.Helper()
		helps = nil
		if _, _, err := parseWithMemo(t, p, &m, input, FormatText); err != nil {
			t.Fatal(err)
		}
		return helps
	}
	first := parse("# HELP p a\\np\np 1\n# HELP q a q\nq 1\n")
	second := parse("# HELP p a\\np\np 2\n# HELP q another q\nq 2\n")
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("helps handed on: %q then %q, want two each", first, second)
	}
	if second[0] != "a\np" || unsafe.StringData(second[0]) != unsafe.StringData(first[0]) {
		t.Errorf("p's unchanged help %q is not the one kept from the previous exposition", second[0])
	}
	if second[1] != "another q" {
		t.Errorf("q's changed help = %q, want \"another q\"", second[1])
	}
}
