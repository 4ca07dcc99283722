package server

import (
	"syscall"
	"testing"
)

// processCPU is the process's CPU time in nanoseconds, every thread's.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuSince reports the process's CPU time per iteration since start
// (cpu-ns/op: braid's side and the in-process upstream's together). On a
// shared, loaded machine wall time measures the neighbours as much as the
// code; CPU time much less.
func cpuSince(b *testing.B, start int64) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}
