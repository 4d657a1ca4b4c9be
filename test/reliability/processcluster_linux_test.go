package reliability_test

import "syscall"

// childAttrs makes the kernel kill a nats-server child when the test binary dies without its
// cleanup (a -timeout panic), so no server outlives the test.
func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
