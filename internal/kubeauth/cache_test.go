package kubeauth

import (
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
)

func TestEvict(t *testing.T) {
	now := time.Unix(100, 0)
	m := map[int]time.Time{1: now.Add(-time.Second), 2: now, 3: now.Add(time.Second)}
	evict(m, now, func(e time.Time) time.Time { return e })
	if len(m) != 1 || m[3].IsZero() {
		t.Errorf("after evicting the expired: %v, want only 3", m)
	}
	evict(m, now, func(e time.Time) time.Time { return e })
	if len(m) != 0 {
		t.Errorf("none expired: %v, want all dropped", m)
	}
}

func TestDecisionKeysDoNotCollide(t *testing.T) {
	a := decisionKey(&authenticationv1.UserInfo{Username: "u", Groups: []string{"extra k", "v"}}, "get", "/metrics")
	b := decisionKey(&authenticationv1.UserInfo{Username: "u", Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}}, "get", "/metrics")
	c := decisionKey(&authenticationv1.UserInfo{Username: "u", Groups: []string{"extra k", "v"}}, "get", "/metrics")
	if a == b || a != c {
		t.Errorf("keys %q, %q, %q: want the first two apart and the first and last equal", a, b, c)
	}
}
