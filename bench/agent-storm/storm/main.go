// Command storm generates load for the runtime sensor benchmark
// (bench/agent-storm.sh):
//
//	storm exec    -rate 20000 -duration 30s -marker M   # fork+exec of a tiny static binary
//	storm connect -rate 50000 -duration 30s -port P     # TCP connects to a loopback listener
//	storm workload -execs 3000 -connects 30000 -port P  # a fixed amount of both, timed
//	storm sysloop -reads 2000000                         # unwatched syscalls (pread of 64 bytes), timed
//
// It prints one JSON object: what it generated, the achieved rate, and (for
// workload) its wall and CPU time including children. Every exec carries
// the marker as its last argument and every connect goes to the given port,
// so the consumer can count exactly these events.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type result struct {
	Mode      string  `json:"mode"`
	Generated uint64  `json:"generated"`
	Failed    uint64  `json:"failed"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate_per_s"`
	Target    float64 `json:"target_per_s,omitempty"`
	CPUSecs   float64 `json:"cpu_s,omitempty"` // user+sys, self and children
	Execs     uint64  `json:"execs,omitempty"`
	Connects  uint64  `json:"connects,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: storm exec|connect|workload [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	rate := fs.Float64("rate", 20000, "target operations per second (0: as fast as possible)")
	dur := fs.Duration("duration", 30*time.Second, "how long to run")
	workers := fs.Int("workers", 2*runtime.NumCPU(), "parallel workers")
	marker := fs.String("marker", "picket-storm", "last argument of every exec")
	port := fs.Int("port", 0, "loopback port to listen on and connect to (0: any free port)")
	bin := fs.String("bin", "/bin/busybox", "static binary to exec (run as BIN true MARKER)")
	execs := fs.Int("execs", 3000, "workload: execs")
	connects := fs.Int("connects", 30000, "workload: connects")
	reads := fs.Int("reads", 2000000, "sysloop: pread calls")
	fs.Parse(os.Args[2:])

	var r result
	var err error
	switch mode {
	case "exec":
		r, err = storm(*workers, *rate, *dur, 0, func() error { return execOnce(*bin, *marker) })
	case "connect":
		var p int
		if p, err = listen(*port); err != nil {
			break
		}
		r, err = storm(*workers, *rate, *dur, 0, func() error { return connectOnce(p) })
	case "workload":
		r, err = workload(*workers, *bin, *marker, *port, *execs, *connects)
	case "sysloop":
		r, err = sysloop(*reads)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "storm:", err)
		os.Exit(1)
	}
	r.Mode = mode
	json.NewEncoder(os.Stdout).Encode(r)
}

// storm runs op from workers goroutines, paced to rate per second overall,
// for dur (or until limit operations when limit > 0).
func storm(workers int, rate float64, dur time.Duration, limit uint64, op func() error) (result, error) {
	var ok, failed atomic.Uint64
	var next atomic.Uint64 // operation tickets, for pacing
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for {
				n := next.Add(1)
				if limit > 0 && n > limit {
					return
				}
				if rate > 0 {
					due := start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				if limit == 0 && time.Now().After(deadline) {
					return
				}
				if err := op(); err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return result{Generated: ok.Load(), Failed: failed.Load(), Seconds: secs, Rate: float64(ok.Load()) / secs, Target: rate}, nil
}

func execOnce(bin, marker string) error {
	pid, err := syscall.ForkExec(bin, []string{"true", marker}, &syscall.ProcAttr{})
	if err != nil {
		return err
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if ws.ExitStatus() != 0 {
		return errors.New("exec: non-zero exit")
	}
	return nil
}

var loopback = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}

// connectOnce connects and resets the connection (SO_LINGER 0: no
// TIME_WAIT, so a long storm does not run out of ports).
func connectOnce(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	sa := *loopback
	sa.Port = port
	return unix.Connect(fd, &sa)
}

// listen starts an accept-and-close loop on a loopback port (0: any).
func listen(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	sa0 := *loopback
	sa0.Port = port
	if err := unix.Bind(fd, &sa0); err != nil {
		return 0, err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return 0, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	for i := 0; i < 2; i++ {
		go func() {
			runtime.LockOSThread()
			for {
				c, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
				if err != nil {
					continue
				}
				unix.Close(c)
			}
		}()
	}
	return sa.(*unix.SockaddrInet4).Port, nil
}

// workload runs a fixed number of execs and connects as fast as it can and
// reports wall and CPU time (self + children): the overhead measurement.
func workload(workers int, bin, marker string, port, execs, connects int) (result, error) {
	port, err := listen(port)
	if err != nil {
		return result{}, err
	}
	var before, beforeC unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &beforeC)
	start := time.Now()
	e, err := storm(workers, 0, time.Hour, uint64(execs), func() error { return execOnce(bin, marker) })
	if err != nil {
		return result{}, err
	}
	c, err := storm(workers, 0, time.Hour, uint64(connects), func() error { return connectOnce(port) })
	if err != nil {
		return result{}, err
	}
	secs := time.Since(start).Seconds()
	var after, afterC unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &afterC)
	cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime) +
		tv(afterC.Utime) + tv(afterC.Stime) - tv(beforeC.Utime) - tv(beforeC.Stime)
	n := e.Generated + c.Generated
	return result{Generated: n, Failed: e.Failed + c.Failed, Seconds: secs, Rate: float64(n) / secs, CPUSecs: cpu,
		Execs: e.Generated, Connects: c.Generated}, nil
}

// sysloop times reads syscalls the sensor does not watch (pread of 64
// bytes from /dev/zero) on one thread: the cost every syscall pays for the
// sys_enter/sys_exit hooks.
func sysloop(reads int) (result, error) {
	fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return result{}, err
	}
	defer unix.Close(fd)
	runtime.LockOSThread()
	buf := make([]byte, 64)
	var before unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &before)
	start := time.Now()
	for i := 0; i < reads; i++ {
		if _, err := unix.Pread(fd, buf, 0); err != nil {
			return result{}, err
		}
	}
	secs := time.Since(start).Seconds()
	var after unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &after)
	cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
	return result{Generated: uint64(reads), Seconds: secs, Rate: float64(reads) / secs, CPUSecs: cpu}, nil
}

func tv(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
