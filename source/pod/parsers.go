package pod

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/podscrape/podscrape/internal/exposition"
)

// pooledParser is a reusable parser whose sample filter follows the refresh it serves.
type pooledParser struct {
	*exposition.Parser
	sel *selection // the refresh in progress; set before each Parse

	metadata *[]familyMetadata // of the pod being parsed; see noteMetadata
}

func (p *pooledParser) keep(name, family string) bool {
	return p.sel.all || p.sel.wants(name, family)
}

// parserPool keeps up to MaxConcurrentScrapes parsers (at most that many parse at once),
// so their line buffers and series sets are reused across pods and refreshes instead of
// reallocated per scrape. A sync.Pool would be emptied by every other GC, which a large
// refresh triggers itself.
type parserPool struct {
	closed      atomic.Bool // the source was closed: parsers are no longer kept
	free        chan *pooledParser
	seed        maphash.Seed                        // every parser's HashSeed: series caches key by Sample.Hash
	interner    atomic.Pointer[exposition.Interner] // nil once closed: parsers made then intern nothing
	sampleLimit int
}

func newParserPool(size int, interner *exposition.Interner, sampleLimit int) *parserPool {
	pp := &parserPool{free: make(chan *pooledParser, size), seed: maphash.MakeSeed(), sampleLimit: sampleLimit}
	pp.interner.Store(interner)
	return pp
}

func (pp *parserPool) get(sel *selection) *pooledParser {
	var p *pooledParser
	select {
	case p = <-pp.free:
	default:
		p = &pooledParser{}
		p.Parser = exposition.NewParser(exposition.Options{
			Interner:    pp.interner.Load(),
			HashSeed:    pp.seed,
			Keep:        p.keep,
			SampleLimit: pp.sampleLimit,
			Metadata:    p.noteMetadata,
		})
	}
	p.sel = sel
	return p
}

func (pp *parserPool) put(p *pooledParser) {
	p.sel, p.metadata = nil, nil
	if pp.closed.Load() {
		return // a closed source's Refresh: its buffers go with it
	}
	select {
	case pp.free <- p:
	default:
	}
}

// close lets the kept parsers go, and those in use when they are put back, and the
// interner they share: a closed source keeps none of their buffers (about 150 KB each)
// nor its label strings, also while its caller still holds it. A Refresh of the closed
// source makes its own parsers, which intern nothing.
func (pp *parserPool) close() {
	pp.closed.Store(true)
	pp.interner.Store(nil)
	for {
		select {
		case <-pp.free:
		default:
			return
		}
	}
}
