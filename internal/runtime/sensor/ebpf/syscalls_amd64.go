//go:build linux && amd64

package ebpf

import "golang.org/x/sys/unix"

// syscallOps maps this architecture's syscall numbers to the sensor's
// operations (sys_event.op); the loader writes it to the syscall_ops map.
// execveat is reported by the exec event (sched_process_exec), not here.
var syscallOps = map[int]int{
	unix.SYS_CONNECT:      opConnect,
	unix.SYS_ACCEPT:       opAccept,
	unix.SYS_ACCEPT4:      opAccept4,
	unix.SYS_BIND:         opBind,
	unix.SYS_DUP2:         opDup2,
	unix.SYS_DUP3:         opDup3,
	unix.SYS_OPEN:         opOpen,
	unix.SYS_OPENAT:       opOpenat,
	unix.SYS_OPENAT2:      opOpenat2,
	unix.SYS_CHMOD:        opChmod,
	unix.SYS_FCHMOD:       opFchmod,
	unix.SYS_FCHMODAT:     opFchmodat,
	452:                   opFchmodat2, // fchmodat2 (Linux 6.6)
	unix.SYS_SETUID:       opSetuid,
	unix.SYS_SETREUID:     opSetreuid,
	unix.SYS_SETRESUID:    opSetresuid,
	unix.SYS_SETGID:       opSetgid,
	unix.SYS_SETREGID:     opSetregid,
	unix.SYS_SETRESGID:    opSetresgid,
	unix.SYS_CAPSET:       opCapset,
	unix.SYS_PTRACE:       opPtrace,
	unix.SYS_MEMFD_CREATE: opMemfdCreate,
	unix.SYS_INIT_MODULE:  opInitModule,
	unix.SYS_FINIT_MODULE: opFinitModule,
	unix.SYS_MOUNT:        opMount,
	unix.SYS_UNSHARE:      opUnshare,
	unix.SYS_SETNS:        opSetns,
}
