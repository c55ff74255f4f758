package kubeauth

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

func TestDecisionKeysDoNotCollide(t *testing.T) {
	a := decisionKey(&authenticationv1.UserInfo{Username: "u", Groups: []string{"extra k", "v"}}, "get", "/metrics")
	b := decisionKey(&authenticationv1.UserInfo{Username: "u", Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}}, "get", "/metrics")
	c := decisionKey(&authenticationv1.UserInfo{Username: "u", Groups: []string{"extra k", "v"}}, "get", "/metrics")
	if a == b || a != c {
		t.Errorf("keys %q, %q, %q: want the first two apart and the first and last equal", a, b, c)
	}
}
