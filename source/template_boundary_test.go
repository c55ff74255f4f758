package source

import "testing"

// The characters at the edges of each accepted range fill in; their neighbours outside
// it are refused: outside a string literal (letters, digits, '_', ':', '.') and between
// a range's brackets (a digit first).
func TestFillTemplateCharacterRangeEdges(t *testing.T) {
	code := QueryTemplate{Name: "q", Template: "x > {{.v}}"}
	for _, v := range []string{"a", "z", "A", "Z", "0", "9", "_", ":", ".", "azAZ09_:."} {
		if got, err := FillTemplate(code, map[string]string{"v": v}); err != nil || got != "x > "+v {
			t.Errorf("code value %q: got %q, %v; want it filled in", v, got, err)
		}
	}
	for _, v := range []string{"`", "{", "@", "[", "/", ";", "a-b", "é"} {
		if _, err := FillTemplate(code, map[string]string{"v": v}); err == nil {
			t.Errorf("code value %q: accepted, want refused", v)
		}
	}
	window := QueryTemplate{Name: "q", Template: "rate(x[{{.v}}])"}
	for _, v := range []string{"0s", "9m", "1h30m", "90"} {
		if got, err := FillTemplate(window, map[string]string{"v": v}); err != nil || got != "rate(x["+v+"])" {
			t.Errorf("window %q: got %q, %v; want it filled in", v, got, err)
		}
	}
	for _, v := range []string{"m5", "/5m", ".5m", "5m_", "5m:1m"} {
		if _, err := FillTemplate(window, map[string]string{"v": v}); err == nil {
			t.Errorf("window %q: accepted, want refused", v)
		}
	}
}

// A backslash in a param is escaped like the separators it escapes: without that, a
// key ending in one would read as another key holding an escaped '='.
func TestBuildCacheKeyEscapesBackslash(t *testing.T) {
	a := BuildCacheKey("q", map[string]string{`\`: "="})
	b := BuildCacheKey("q", map[string]string{`=\`: ""})
	if a == b {
		t.Fatalf(`BuildCacheKey(q, {\: =}) = BuildCacheKey(q, {=\: ""}) = %q`, a)
	}
}
