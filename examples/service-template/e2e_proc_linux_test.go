package main

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel kill cmd when the test binary dies, also
// without running its cleanups (a -timeout panic, SIGKILL): the servers
// the tests start (the TLS Vault, redis-server) would otherwise outlive it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
