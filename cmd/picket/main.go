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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	err := cmd.ExecuteContext(ctx)
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
