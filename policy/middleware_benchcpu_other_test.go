//go:build !unix

package policy_test

import "testing"

func reportCPU(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
}
