// Command picket is container detection and response in one binary: deep
// image scanning, registry and Docker daemon guards, host compliance and a
// runtime agent. This file only wires commands; the work lives in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	_ "github.com/picket-cdr/picket/internal/analyzer/all" // register analyzers
)

// Exit codes, documented in the README and --help.
const (
	exitOK     = 0
	exitPolicy = 1 // the scan ran and a --fail-on policy failed
	exitError  = 2 // bad input, unreadable image, internal error
)

// errPolicy marks a failed policy gate: exit 1, not 2.
var errPolicy = errors.New("policy failed")

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set:
// scans stream, so a tight limit only makes the collector run sooner on
// images with millions of files instead of letting the heap double.
const defaultMemoryLimit = 200 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	stopProfile := startProfile()
	err := cmd.ExecuteContext(ctx)
	stopProfile()
	switch {
	case err == nil:
		os.Exit(exitOK)
	case errors.Is(err, errPolicy):
		fmt.Fprintln(os.Stderr, "picket:", err)
		os.Exit(exitPolicy)
	default:
		fmt.Fprintln(os.Stderr, "picket: error:", err)
		os.Exit(exitError)
	}
}

// startProfile writes a CPU profile to $PICKET_CPUPROFILE when it is set (a
// developer's aid, documented in docs/configuration.md).
func startProfile() (stop func()) {
	p := os.Getenv("PICKET_CPUPROFILE")
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "picket: PICKET_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "picket: PICKET_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
