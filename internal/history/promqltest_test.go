package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// skippedFiles are the built-in promqltest files not run, and why.
var skippedFiles = map[string]string{
	"start_timestamps.test": "start timestamps: the store keeps none (a scrape has none)",
}

// TestPromQLConformance runs Prometheus' own PromQL test files (promql/promqltest's
// testdata, at the module's version) with Prometheus' engine reading this package's store.
// The store holds floats only (scrapes are text): native histogram samples, which some
// files mix with floats, go to a tsdb beside it and the engine reads both through
// storage's merge querier, so every float sample the files load is read from the store.
func TestPromQLConformance(t *testing.T) {
	dir := promqltestData(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promqltest files in %s: %v", dir, err)
	}
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	newStorage := func(t testing.TB) storage.Storage {
		return &testStorage{s: newStore(DefaultLookbackDelta), hist: teststorage.New(t)}
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			if why, ok := skippedFiles[name]; ok {
				t.Skip(why)
			}
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			promqltest.RunTestWithStorage(t, string(content), engine, newStorage)
		})
	}
}

// promqltestData returns the directory of promqltest's test files in the module cache.
func promqltestData(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/prometheus/prometheus: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "promql", "promqltest", "testdata")
}

// testStorage is the store as the storage.Storage promqltest loads and queries, with a
// tsdb beside it for native histograms.
type testStorage struct {
	s    *store
	hist *teststorage.TestStorage
}

var _ storage.Storage = (*testStorage)(nil)

func (ts *testStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	floats, err := ts.s.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	hists, err := ts.hist.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return storage.NewMergeQuerier([]storage.Querier{floats, hists}, nil, storage.ChainedSeriesMerge), nil
}

func (*testStorage) ChunkQuerier(int64, int64) (storage.ChunkQuerier, error) {
	return nil, errors.New("the history store has no chunk querier")
}

// Appender returns nil: promqltest appends through AppenderV2 only.
func (*testStorage) Appender(context.Context) storage.Appender { return nil }

func (ts *testStorage) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &testAppender{s: ts.s, hist: ts.hist.AppenderV2(ctx)}
}

func (ts *testStorage) StartTime() (int64, error) {
	ts.s.mu.RLock()
	defer ts.s.mu.RUnlock()
	return ts.s.minTime, nil
}

func (ts *testStorage) Close() error { return ts.hist.Close() }

// testAppender buffers float samples until Commit, as a storage transaction, and passes
// native histograms to the tsdb's appender.
type testAppender struct {
	s       *store
	hist    storage.AppenderV2
	samples []testSample
}

type testSample struct {
	lset labels.Labels
	t    int64
	v    float64
}

func (a *testAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return a.hist.Append(ref, ls, st, t, v, h, fh, opts)
	}
	a.samples = append(a.samples, testSample{lset: ls, t: t, v: v})
	return 0, nil
}

func (a *testAppender) Commit() error {
	if err := a.hist.Commit(); err != nil {
		return err
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.s.begin()
	for _, smp := range a.samples {
		hash := smp.lset.Hash()
		ms := a.s.get(smp.lset, hash)
		if ms == nil {
			ms = a.s.create(smp.lset, hash)
		}
		if smp.t <= ms.newest() {
			return fmt.Errorf("series %s at %d: %w", smp.lset, smp.t, storage.ErrOutOfOrderSample)
		}
		a.s.append(ms, smp.t, smp.v)
	}
	return nil
}

func (a *testAppender) Rollback() error {
	a.samples = nil
	return a.hist.Rollback()
}
