package pod

import "slices"

// sizeHint is how many values a typical pod produced for the selection key at its last
// refresh (the median pod's count), so the next refresh sizes each pod's slice once
// instead of growing it by doubling. Keyed by selection: a one-metric refresh must not
// inherit the size of an all_metrics one.
func (s *PodScrapingSource) sizeHint(key string) int {
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	return s.hints[key]
}

// rememberSize records the median count of values of the pods that answered, for key.
// Not the largest: every pod of the next refresh gets a slice of the hint's size (those
// that fail included, and ScrapeSeries' new pods keep theirs), so one pod of 200,000
// samples among 2,000 would cost 2,000 slices of 200,000; at the median, the pods below
// it waste at most what those above it hold, and the larger ones grow their own.
func (s *PodScrapingSource) rememberSize(key string, pods []podScrape) {
	counts := make([]int, 0, len(pods))
	for i := range pods {
		if pods[i].err == nil {
			counts = append(counts, max(len(pods[i].values), len(pods[i].series)))
		}
	}
	hint := 0
	if len(counts) > 0 {
		slices.Sort(counts)
		hint = counts[(len(counts)-1)/2]
	}
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	if s.hints == nil {
		s.hints = map[string]int{}
	}
	s.hints[key] = hint
}
