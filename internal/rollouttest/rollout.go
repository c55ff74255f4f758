// Package rollouttest rolls the pods of a podscrapetest Service as Kubernetes rolls a
// Deployment's, for the tests that compare what the library and serve answer during a
// rollout with the requests the pods served: an old pod drains (deleted, held
// terminating by a finalizer as a kubelet holds it while its containers stop), then
// goes; a new pod comes Ready at once (maxSurge) or after loading its model
// (maxUnavailable).
package rollouttest

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
)

// Finalizer holds a deleted pod terminating, as a kubelet holds it while its containers
// stop.
const Finalizer = "podscrape.test/draining"

// The kinds of rollout Step makes.
const (
	// Surge is maxSurge 1: a new pod Ready at once, then an old pod drains, then goes;
	// 3 steps a pod.
	Surge = "surge"
	// Unavailable is maxUnavailable 1: an old pod drains while its replacement loads
	// its model (not Ready for two steps), then goes; 6 steps a pod.
	Unavailable = "unavailable"
)

// Drain marks the pod ns/name terminating (deleted, held by Finalizer), as a rollout's
// old pod is while it drains.
func Drain(ctx context.Context, c client.Client, ns, name string) error {
	var p corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		return fmt.Errorf("drain pod %s/%s: %w", ns, name, err)
	}
	p.Finalizers = append(p.Finalizers, Finalizer)
	if err := c.Update(ctx, &p); err != nil {
		return fmt.Errorf("drain pod %s/%s: %w", ns, name, err)
	}
	if err := c.Delete(ctx, &p); err != nil {
		return fmt.Errorf("drain pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// Release lets the drained pod ns/name go.
func Release(ctx context.Context, c client.Client, ns, name string) error {
	var p corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		return fmt.Errorf("release pod %s/%s: %w", ns, name, err)
	}
	p.Finalizers = nil
	if err := c.Update(ctx, &p); err != nil {
		return fmt.Errorf("release pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// Step makes the j-th step of a rollout of kind (Surge or Unavailable) of svc's pods,
// replacing olds by news, and keeps serving (the pods that take new requests) up to
// date.
func Step(ctx context.Context, c client.Client, svc *podscrapetest.Service, kind string, j int, olds, news []string, serving map[string]bool) error {
	per := 3
	if kind == Unavailable {
		per = 6
	}
	k := j / per
	if k >= len(olds) {
		return nil
	}
	switch {
	case j%per == 0:
		if kind == Unavailable {
			if err := Drain(ctx, c, svc.Namespace, olds[k]); err != nil {
				return err
			}
			delete(serving, olds[k])
		}
		if _, err := svc.AddPod(ctx, news[k]); err != nil {
			return err
		}
		if kind == Unavailable {
			return svc.Pod(news[k]).SetReady(ctx, false)
		}
		serving[news[k]] = true
	case kind == Surge && j%per == 1:
		if err := Drain(ctx, c, svc.Namespace, olds[k]); err != nil {
			return err
		}
		delete(serving, olds[k])
	case j%per == 2:
		if err := Release(ctx, c, svc.Namespace, olds[k]); err != nil {
			return err
		}
		return svc.Pod(olds[k]).Delete(ctx)
	case kind == Unavailable && j%per == 4:
		if err := svc.Pod(news[k]).SetReady(ctx, true); err != nil {
			return err
		}
		serving[news[k]] = true
	}
	return nil
}
