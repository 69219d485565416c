//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package testregistry

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
