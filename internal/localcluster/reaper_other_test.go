//go:build !linux

package localcluster_test

// orphanHelperEnv names the helper mode of TestMain, which only Linux has.
const orphanHelperEnv = "LOCALCLUSTER_ORPHAN_HELPER"

func orphanHelper() int { return 1 }
