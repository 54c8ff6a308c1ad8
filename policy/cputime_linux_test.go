package policy

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used (the
// caller locks its goroutine to the thread), so that a benchmark on a
// shared machine can compare work rather than wall time. RUSAGE_THREAD
// is 1 on Linux.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
