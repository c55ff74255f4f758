package localcluster_test

import (
	"fmt"
	"sync"
	"testing"
)

// Parallel tests add users at once (test/e2e's RBAC tests): envtest's certificate
// authority shares one serial number between them, so AddUser must serialise its calls.
// Under -race, unserialised calls race on the serial number; each user must also get a
// config of its own.
func TestAddUserConcurrently(t *testing.T) {
	const users = 8
	var wg sync.WaitGroup
	errs := make([]error, users)
	for i := range users {
		wg.Go(func() {
			cfg, err := cp.AddUser(fmt.Sprintf("concurrent-user-%d", i))
			if err == nil && (cfg == nil || len(cfg.CertData) == 0) {
				err = fmt.Errorf("user %d: no client certificate in its config", i)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
