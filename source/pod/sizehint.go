package pod

// sizeHint is how many values a pod produced for the selection key at its last refresh
// (the largest pod's count), so the next refresh sizes each pod's slice once instead of
// growing it by doubling. Keyed by selection: a one-metric refresh must not inherit the
// size of an all_metrics one.
func (s *PodScrapingSource) sizeHint(key string) int {
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	return s.hints[key]
}

// rememberSize records the largest pod's value count for key.
func (s *PodScrapingSource) rememberSize(key string, pods []podScrape) {
	largest := 0
	for i := range pods {
		largest = max(largest, len(pods[i].values), len(pods[i].series))
	}
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	if s.hints == nil {
		s.hints = map[string]int{}
	}
	s.hints[key] = largest
}
