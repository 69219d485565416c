//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

// Package flock takes cross-process exclusive locks on files.
package flock

import "context"

// Lock is not available here.
func Lock(context.Context, string, func()) (func(), error) { return nil, ErrUnsupported }
