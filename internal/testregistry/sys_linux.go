package testregistry

import "syscall"

// sysProcAttr kills the registry if the test process dies without cleaning
// up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
