//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package testregistry

import (
	"context"
	"syscall"
)

func lockFile(context.Context, string) (func(), error) { return nil, errNoLock }

func sysProcAttr() *syscall.SysProcAttr { return nil }
