package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestServeProbesAnswerPastStalledHTTP2Streams: an HTTP/2 client (https) that gives serve
// no flow-control window (SETTINGS_INITIAL_WINDOW_SIZE 0) and asks for the probes' path
// on 50 streams, reading every frame but granting no window, so that no answer's body can
// be sent (no token needed), has each stream reset once its answer's write has made no
// progress for the write stall timeout (a minute, shortened here); its connection, idle
// then, gives its place to a probe. Before, the connection's writes progressed (the
// client read them), so no bound applied: each stream's handler waited for a window for
// as long as the client kept the connection, and the connection, active, was never
// closed for a probe: three (512, with 100 streams each) failed every probe.
func TestServeProbesAnswerPastStalledHTTP2Streams(t *testing.T) {
	limitConnections(t, 3)
	defer func(d time.Duration) { serveWriteStallTimeout = d }(serveWriteStallTimeout)
	serveWriteStallTimeout = time.Second
	ca, certFile, keyFile := servingCert(t, "podscrape-serve-h2-stall")
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	addr := strings.TrimPrefix(base, "https://")

	for range serveMaxConnections {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
			t.Fatal(err)
		}
		fr := http2.NewFramer(c, c)
		if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
			t.Fatal(err)
		}
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "serve"}, {Name: ":path", Value: "/-/healthy"}} {
			_ = enc.WriteField(f)
		}
		for id := uint32(1); id < 2*50; id += 2 {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
		}
		go func() { // reads every frame, acknowledges settings and pings, grants no window
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					return
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					if !f.IsAck() {
						_ = fr.WriteSettingsAck()
					}
				case *http2.PingFrame:
					if !f.IsAck() {
						_ = fr.WritePing(true, f.Data)
					}
				}
			}
		}()
	}

	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	resp, err := probe.Get(base + "/-/healthy")
	if err != nil {
		t.Fatalf("/-/healthy with %d HTTP/2 connections granting no window: %v, want an answer", serveMaxConnections, err)
	}
	resp.Body.Close()
}

// TestStallBoundedLetsAHandlerPauseBetweenWrites: the HTTP/2 write bound applies only
// while a write waits (and to what is left when the handler returns): a handler that
// writes, then takes longer than the bound before writing again (a query's answer
// written in parts), has its whole answer sent, whether or not it flushed the first. An HTTP/2 write deadline left set resets
// the stream when it passes, whether or not a write waits.
func TestStallBoundedLetsAHandlerPauseBetweenWrites(t *testing.T) {
	const stall = 200 * time.Millisecond
	for _, flush := range []bool{true, false} { // the first part flushed, or left buffered
		hs := httptest.NewUnstartedServer(stallBounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "first part, ")
			if flush {
				http.NewResponseController(w).Flush()
			}
			<-time.After(3 * stall) // the handler's pause, longer than the bound
			_, _ = io.WriteString(w, "second part")
		}), stall))
		hs.EnableHTTP2 = true
		hs.StartTLS()
		defer hs.Close()
		resp, err := hs.Client().Get(hs.URL)
		if err != nil {
			t.Fatalf("the first part flushed: %v: %v", flush, err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s, want HTTP/2", resp.Proto)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "first part, second part" {
			t.Errorf("an answer written in two parts %s apart (the first flushed: %v), with a write bound of %s: %q, %v; want both parts", 3*stall, flush, stall, body, err)
		}
	}
}

// TestStallBoundedSendsALargeWriteWhole: the HTTP/2 write bound writes an answer in
// parts of 64 KiB, and all of them: a handler writing a large answer at once (a range
// query's JSON, a federation) has it sent whole over HTTP/2, not its first part alone.
func TestStallBoundedSendsALargeWriteWhole(t *testing.T) {
	answer := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	hs := httptest.NewUnstartedServer(stallBounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, answer)
	}), time.Minute))
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s, want HTTP/2", resp.Proto)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != answer {
		t.Errorf("an answer of %d bytes written at once: %d bytes received, %v; want it whole", len(answer), len(body), err)
	}
}
