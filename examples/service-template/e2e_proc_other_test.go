//go:build !linux

package main

import "os/exec"

// dieWithTest: only Linux has a parent-death signal; elsewhere a test
// binary killed before its cleanups leaves the servers it started running.
func dieWithTest(*exec.Cmd) {}
