//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package testregistry

import (
	"context"
	"errors"
	"syscall"
)

func lockFile(context.Context, string) (func(), error) {
	return nil, errors.New("testregistry: no file locking on this system")
}

func sysProcAttr() *syscall.SysProcAttr { return nil }
