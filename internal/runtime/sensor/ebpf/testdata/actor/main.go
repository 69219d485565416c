// Command actor performs one suspicious behaviour per invocation, for the
// eBPF sensor's integration tests (built static, copied into a busybox
// container). It prints what it did (ports, pids) on stdout as key=value.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: actor true|connect|revshell|memfd|ptrace|setuid|capset|module|setns|unshare")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "true":
	case "connect":
		err = connect()
	case "revshell":
		err = revshell()
	case "memfd":
		err = memfd()
	case "ptrace":
		err = ptrace()
	case "setuid":
		err = setuid()
	case "capset":
		err = capset()
	case "module":
		err = module()
	case "setns":
		err = setns()
	default:
		err = fmt.Errorf("unknown action %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "actor:", err)
		os.Exit(1)
	}
}

// connect listens on a loopback port, connects to it and accepts.
func connect() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	fmt.Printf("port=%d local=%d\n", port, c.LocalAddr().(*net.TCPAddr).Port)
	c.Close()
	return <-done
}

// revshell connects a socket and dup2s it onto stdin, stdout and stderr,
// the way a reverse shell does before exec'ing a shell.
func revshell() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		return err
	}
	fmt.Printf("port=%d\n", port)
	fd := int(f.Fd())
	saved, err := unix.Dup(1)
	if err != nil {
		return err
	}
	for _, n := range []int{0, 1} {
		if err := unix.Dup2(fd, n); err != nil {
			return err
		}
	}
	if err := unix.Dup3(fd, 2, 0); err != nil {
		return err
	}
	return unix.Dup2(saved, 1)
}

// memfd copies this executable into a memfd and executes it from there.
func memfd() error {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return err
	}
	fd, err := unix.MemfdCreate("picket-fileless", 0)
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, self); err != nil {
		return err
	}
	argv, _ := syscall.SlicePtrFromStrings([]string{"fileless", "true"})
	empty, _ := syscall.BytePtrFromString("")
	_, _, errno := syscall.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&[]*byte{nil}[0])), unix.AT_EMPTY_PATH, 0)
	return fmt.Errorf("execveat: %v", errno)
}

// ptrace attaches to a child.
func ptrace() error {
	runtime.LockOSThread()
	cmd := exec.Command("/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	fmt.Printf("target=%d\n", cmd.Process.Pid)
	if err := unix.PtraceAttach(cmd.Process.Pid); err != nil {
		return err
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(cmd.Process.Pid, &ws, 0, nil); err != nil {
		return err
	}
	return unix.PtraceDetach(cmd.Process.Pid)
}

func setuid() error {
	if err := unix.Setgid(65534); err != nil {
		return err
	}
	return unix.Setuid(65534)
}

func capset() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective &^= 1 << unix.CAP_NET_RAW
	return unix.Capset(&hdr, &data[0])
}

// module tries finit_module on /dev/null: refused, but attempted.
func module() error {
	f, err := os.Open("/dev/null")
	if err != nil {
		return err
	}
	fmt.Printf("fd=%d\n", f.Fd())
	err = unix.FinitModule(int(f.Fd()), "", 0)
	fmt.Printf("err=%v\n", err)
	time.Sleep(300 * time.Millisecond) // let the sensor read /proc/<pid>/fd
	return nil
}

func setns() error {
	f, err := os.Open("/proc/self/ns/net")
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	fmt.Printf("fd=%d\n", f.Fd())
	err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
	fmt.Printf("err=%v\n", err)
	time.Sleep(10 * time.Millisecond)
	return nil
}
