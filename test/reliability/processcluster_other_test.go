//go:build !linux

package reliability_test

import "syscall"

// childAttrs: only Linux can tie a child's life to its parent's; elsewhere t.Cleanup stops it.
func childAttrs() *syscall.SysProcAttr { return nil }
