package pod

import "testing"

// What a refresh cut short was waiting for counts its pods in English: a Service of one
// pod that had answered was "every one of the 1 pods".
func TestWaitingForCountsPodsInEnglish(t *testing.T) {
	for _, tc := range []struct {
		waiting []string
		total   int
		want    string
	}{
		{nil, 1, "its one pod had answered"},
		{nil, 3, "every one of the 3 pods had answered"},
		{[]string{"ns/a"}, 1, "waiting for 1 of 1 pods: ns/a"},
		{[]string{"ns/a"}, 2, "waiting for 1 of 2 pods: ns/a"},
	} {
		if got := waitingFor(tc.waiting, tc.total); got != tc.want {
			t.Errorf("waitingFor(%q, %d) = %q, want %q", tc.waiting, tc.total, got, tc.want)
		}
	}
}
