//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package testregistry

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
