//go:build !race

package main

// raceEnabled reports a -race build, where the slowest comparisons are left out.
const raceEnabled = false
