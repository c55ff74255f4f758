package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestServeBoundsHTTP2Streams: over https, serve speaks HTTP/2 and tells each connection
// it may carry at most 100 requests at once (its SETTINGS frame's
// SETTINGS_MAX_CONCURRENT_STREAMS), as kube-apiserver does. Before, Go's default 250:
// 512 connections carried 128,000 unauthenticated requests at once.
func TestServeBoundsHTTP2Streams(t *testing.T) {
	ca, certFile, keyFile := servingCert(t, "podscrape-serve-h2-test")
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, NextProtos: []string{http2.NextProtoTLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		t.Fatalf("negotiated %q, want %q", p, http2.NextProtoTLS)
	}
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// The server's first frame is its SETTINGS.
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v, want the server's SETTINGS", f)
	}
	if got, ok := sf.Value(http2.SettingMaxConcurrentStreams); !ok || got != 100 {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS: %d (sent: %v), want 100", got, ok)
	}
}
