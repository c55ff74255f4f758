package flight

import (
	"context"
	"testing"
)

// A caller alone in its run is told its value was not shared.
func TestDoAloneIsNotShared(t *testing.T) {
	w := newLetters()
	close(w.release)
	g := NewGroup[string, string](w)
	v, shared, err := g.Do(context.Background(), "a")
	if err != nil || v != "ran a" || shared {
		t.Fatalf("got %q shared=%v err=%v, want %q, not shared", v, shared, err, "ran a")
	}
}
