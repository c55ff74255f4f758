package main

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// abortRequestsOn makes ctx's end (Ctrl-C, SIGTERM) abort every API request the commands
// make, in flight or to come, until keepRequests. client-go's discovery (the REST
// mapping a controller-runtime client looks up before its first request) takes no
// context: against an API server that accepts connections and never answers, a command
// would otherwise ignore the signal and hang until killed.
func (k *kubeFlags) abortRequestsOn(ctx context.Context) {
	aborted := make(chan struct{})
	k.aborted = aborted
	k.disarm = context.AfterFunc(ctx, func() { close(aborted) })
}

// keepRequests stops a later end of abortRequestsOn's context from aborting API
// requests: serve calls it once it serves, so that its graceful shutdown lets the
// requests in flight finish, their token and access reviews included.
func (k *kubeFlags) keepRequests() {
	if k.disarm != nil {
		k.disarm()
	}
}

// abortable is a RoundTripper whose requests end when aborted is closed.
type abortable struct {
	aborted <-chan struct{}
	rt      http.RoundTripper
}

func (a abortable) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	done := make(chan struct{})
	go func() {
		select {
		case <-a.aborted:
			cancel()
		case <-done:
		}
	}()
	release := sync.OnceFunc(func() {
		close(done)
		cancel()
	})
	resp, err := a.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	// The body outlives RoundTrip (a watch streams it): abortable until closed.
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody calls release once it is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
