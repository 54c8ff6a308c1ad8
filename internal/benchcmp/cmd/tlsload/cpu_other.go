//go:build !linux

package main

import "time"

// cpuTimes is unavailable here: the share of the machine other processes
// took during a run is not reported.
func cpuTimes() (machine, self time.Duration, ok bool) { return 0, 0, false }
