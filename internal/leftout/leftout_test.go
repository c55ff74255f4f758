package leftout

import (
	"fmt"
	"testing"
)

// A warning of one pod is in the singular, of more in the plural, and both are
// recognised; other warnings are not.
func TestWording(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "1 pod is no longer scraped, its series went stale and the answer leaves it out"},
		{2, "2 pods are no longer scraped, their series went stale and the answer leaves them out"},
	} {
		got := fmt.Sprintf("%d %s %s no longer scraped, %s series went stale and %s", tc.n, Pods(tc.n), Are(tc.n), Their(tc.n), Clause(tc.n))
		if got != tc.want {
			t.Errorf("%d pods: got %q, want %q", tc.n, got, tc.want)
		}
		if !In([]string{"other", got}) {
			t.Errorf("In(%q) = false, want true", got)
		}
	}
	if In([]string{"service a/b: 2 pods failed", ""}) || In(nil) {
		t.Error("In of warnings without the clause = true, want false")
	}
}
