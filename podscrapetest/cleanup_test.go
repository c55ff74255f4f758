package podscrapetest_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
)

// TestFailedNewServiceLeavesAnothersObjects: a NewService that fails because its Service
// or a pod already exists (another Service's) deletes none of that other Service's
// objects while cleaning up after itself.
func TestFailedNewServiceLeavesAnothersObjects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second func(ns string) podscrapetest.ServiceOptions
	}{
		{"same Service name", func(ns string) podscrapetest.ServiceOptions {
			return podscrapetest.ServiceOptions{Namespace: ns, Name: "epp", Pods: 1}
		}},
		{"same pod name", func(ns string) podscrapetest.ServiceOptions {
			return podscrapetest.ServiceOptions{Namespace: ns, Name: "other", PodNames: []string{"epp-0"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			first, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			if _, err := env.NewService(ctx, tc.second(first.Namespace)); err == nil {
				t.Fatal("second NewService: no error, want one (an object already exists)")
			}
			for _, obj := range []client.Object{&corev1.Service{}, &corev1.Pod{}} {
				name := "epp"
				if _, ok := obj.(*corev1.Pod); ok {
					name = "epp-0"
				}
				key := client.ObjectKey{Namespace: first.Namespace, Name: name}
				if err := env.Client.Get(ctx, key, obj); err != nil {
					t.Errorf("the first Service's %T %s after the second's failure: got %v, want it there", obj, key, err)
				}
			}
			if got := len(first.Pods()); got != 1 {
				t.Errorf("first.Pods(): got %d pods, want 1", got)
			}
		})
	}
}

// TestCloseTwiceLeavesALaterServicesObject: once a Service is closed, a later Service of
// the same namespace and name is another's, and a second Close leaves it.
func TestCloseTwiceLeavesALaterServicesObject(t *testing.T) {
	ctx := context.Background()
	first, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	later, err := env.NewService(ctx, podscrapetest.ServiceOptions{Namespace: first.Namespace, Name: "epp"})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	key := client.ObjectKey{Namespace: first.Namespace, Name: "epp"}
	if err := env.Client.Get(ctx, key, &corev1.Service{}); err != nil {
		t.Errorf("the later Service %s after the first's second Close: got %v, want it there", key, err)
	}
}

// TestPodDeleteRetriesAFailedDelete: a Delete that fails (its context is cancelled)
// leaves the pod listed, and a later Delete deletes the Pod object.
func TestPodDeleteRetriesAFailedDelete(t *testing.T) {
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Pods: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	p := svc.Pods()[0]
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Delete(cancelled); err == nil {
		t.Fatal("Delete with a cancelled context: no error, want one")
	}
	if got := len(svc.Pods()); got != 1 {
		t.Errorf("Pods() after a failed Delete: got %d pods, want 1", got)
	}
	if err := p.Delete(ctx); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	key := client.ObjectKey{Namespace: svc.Namespace, Name: p.Name}
	if err := env.Client.Get(ctx, key, &corev1.Pod{}); err == nil {
		t.Errorf("pod %s after a retried Delete: still there, want it deleted", key)
	}
	if got := len(svc.Pods()); got != 0 {
		t.Errorf("Pods() after the retried Delete: got %d pods, want 0", got)
	}
}
