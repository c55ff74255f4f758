package history

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// seriesSnapshot is a series as a Select returned it (storage.Series): the chunks it had
// then, the last one copied if appends could still extend it. Its Iterator can be called
// any number of times, concurrently with appends, and always yields the same samples.
type seriesSnapshot struct {
	lset   labels.Labels
	chunks []chunkenc.Chunk // oldest first, none overlapping
}

func (s *seriesSnapshot) Labels() labels.Labels { return s.lset }

// Iterator returns the series' samples in time order, reusing it when it can. A series of
// several chunks reads them through storage's chain iterator, which seeks each chunk.
func (s *seriesSnapshot) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if len(s.chunks) == 1 {
		return s.chunks[0].Iterator(it)
	}
	iters := make([]chunkenc.Iterator, len(s.chunks))
	for i, c := range s.chunks {
		iters[i] = c.Iterator(nil)
	}
	return storage.ChainSampleIteratorFromIterators(it, iters)
}
