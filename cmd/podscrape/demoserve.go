//go:build !nodemo

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/serve"
	queries "github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// demoServe is podscrape serve over the demo's three Services, on a loopback port: the
// URL to point Grafana or promtool at while the demo runs.
type demoServe struct {
	url  string
	stop func() error
}

// startDemoServe serves Prometheus' HTTP API over the demo's Services (as
// `podscrape serve --config` would, fresh to a second) on 127.0.0.1, until stop.
func startDemoServe(ctx context.Context, cp *localcluster.ControlPlane, l *localcluster.LLMD) (*demoServe, error) {
	services := []serve.ServiceConfig{
		{Source: pod.PodScrapingSourceConfig{
			ServiceName: l.EPPService, ServiceNamespace: l.Namespace, MetricsPort: l.EPPPort,
			MetricsReaderSecretName: l.SecretName, MetricsReaderSecretNamespace: l.SecretNamespace,
			MetricsReaderSecretKey: l.SecretKey,
		}},
		{Source: pod.PodScrapingSourceConfig{
			ServiceName: l.VLLMService, ServiceNamespace: l.Namespace, MetricsPort: l.VLLMPort,
			PodLabels: queries.PodLabels(),
		}},
		{Source: pod.PodScrapingSourceConfig{
			ServiceName: l.SGLangService, ServiceNamespace: l.Namespace, MetricsPort: l.SGLangPort,
			PodLabels: queries.PodLabels(),
		}},
	}
	srv, err := serve.New(ctx, cp.Client, serve.Config{Services: services, Interval: 5 * time.Second, MaxAge: time.Second, Version: buildVersion()})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	loops := make(chan error, 1)
	go func() { loops <- srv.Run(runCtx) }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return &demoServe{
		url: "http://" + ln.Addr().String(),
		stop: func() error {
			err := hs.Close()
			cancel()
			<-loops
			return errors.Join(err, srv.Close())
		},
	}, nil
}
