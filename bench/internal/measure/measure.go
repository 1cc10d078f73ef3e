// Package measure holds what the benchmark programs under bench/ share:
// the process's CPU time and peak memory, and an optional CPU profile.
package measure

import (
	"log"
	"os"
	"runtime/pprof"
	"syscall"
)

// CPUSeconds is the process's user plus system CPU time so far, all
// threads together.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// MaxRSSMB is the process's peak resident set size in MB (Linux reports
// ru_maxrss in KiB).
func MaxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024 / 1e6
}

// CPUProfile starts a CPU profile written to path, or nothing when path
// is empty, and returns the function that stops it. Errors are fatal: a
// benchmark asked for a profile it cannot write has nothing to report.
func CPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return pprof.StopCPUProfile
}
