package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// TestKeepAliveConnectionReusedAcrossRefreshes: each pod's connection is kept between
// refreshes and reused (plain and gzip bodies alike), as library.md says, instead of a
// dial, and a TLS handshake, per pod per refresh; Close releases it, so the refresh after
// it dials again.
func TestKeepAliveConnectionReusedAcrossRefreshes(t *testing.T) {
	t.Parallel()
	var body bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&body, "m{i=\"%d\"} %d\n", i, i)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	if _, err := zw.Write(body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	plain := &recorder{body: body.Bytes()}
	gzipped := &recorder{body: zipped.Bytes()}
	gzipHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		gzipped.ServeHTTP(w, r)
	})
	f := startService(t, podDef{name: "plain", handler: plain}, podDef{name: "gzip", handler: gzipHandler})
	s := newSource(t, f.config())
	for range 3 {
		if up := upByPod(mustRefresh(t, s)); up["plain"] != 1 || up["gzip"] != 1 {
			t.Fatalf("up: got %v, want both pods 1", up)
		}
	}
	conns := func(rec *recorder) []string {
		var addrs []string
		for _, r := range rec.seen() {
			if !slices.Contains(addrs, r.RemoteAddr) {
				addrs = append(addrs, r.RemoteAddr)
			}
		}
		return addrs
	}
	for name, rec := range map[string]*recorder{"plain": plain, "gzip": gzipped} {
		if got := conns(rec); len(got) != 1 {
			t.Errorf("pod %s: 3 refreshes came over connections %v, want one", name, got)
		}
	}
	s.Close()
	mustRefresh(t, s)
	for name, rec := range map[string]*recorder{"plain": plain, "gzip": gzipped} {
		if got := conns(rec); len(got) != 2 {
			t.Errorf("pod %s: after Close, connections %v, want a second one", name, got)
		}
	}
}
