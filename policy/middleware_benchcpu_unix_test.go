//go:build unix

package policy_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU runs f b.N times (b.Loop) and reports, beside the wall time,
// the process CPU time per operation ("cpu-ns/op"): on a machine shared
// with other work, the wall time measures the machine's load as much as
// the code, the CPU time much less so.
func reportCPU(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	start, n := cpuTime(), 0
	for b.Loop() {
		f()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}
