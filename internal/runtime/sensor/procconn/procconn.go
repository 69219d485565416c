//go:build linux

// Package procconn is the fallback process sensor for kernels where eBPF
// cannot run: the netlink process-events connector (CONFIG_PROC_EVENTS)
// reports exec, fork, exit, uid/gid changes and ptrace attach, and /proc
// (package procfs) fills in the details. It sees no network or file events,
// and a process that exits before /proc is read keeps only what the
// connector itself carries (pid, ppid, exit code).
package procconn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

// Name is the sensor's name in events and reports.
const Name = "proc_connector"

// ErrUnsupported is wrapped when the connector cannot be opened.
var ErrUnsupported = errors.New("procconn: unsupported")

// Connector constants (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1
	cnValProc = 1

	mcastListen = 1
	mcastIgnore = 2

	evNone   = 0x00000000
	evFork   = 0x00000001
	evExec   = 0x00000002
	evUID    = 0x00000004
	evGID    = 0x00000040
	evSID    = 0x00000080
	evPtrace = 0x00000100
	evComm   = 0x00000200
	evCore   = 0x40000000
	evExit   = 0x80000000

	nlmsgHdrLen  = 16
	cnMsgLen     = 20
	procEventHdr = 16 // what, cpu, timestamp_ns
)

// Sensor is an open proc connector socket; it implements event.Source.
type Sensor struct {
	fd     int
	fs     *procfs.FS
	counts map[event.Kind]*atomic.Uint64
	lost   atomic.Uint64
	full   bool // drop when the channel is full instead of blocking
	once   sync.Once
	bootNS int64 // wall-clock ns at monotonic 0, for KernelTime → Time
}

var _ event.Source = (*Sensor)(nil)

// Option configures the sensor.
type Option func(*Sensor)

// WithDropWhenFull makes Run drop (and count in Stats.Lost) events when the
// output channel is full, instead of blocking.
func WithDropWhenFull() Option { return func(s *Sensor) { s.full = true } }

// New opens the connector and subscribes to process events. Needs
// CAP_NET_ADMIN in the initial network namespace.
func New(opts ...Option) (*Sensor, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("%w: socket: %v", ErrUnsupported, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: bind: %v", ErrUnsupported, err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	s := &Sensor{fd: fd, fs: procfs.Default, counts: map[event.Kind]*atomic.Uint64{}}
	for _, k := range []event.Kind{event.Exec, event.Fork, event.Exit, event.SetUID, event.SetGID, event.PtraceOp} {
		s.counts[k] = new(atomic.Uint64)
	}
	for _, o := range opts {
		o(s)
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	s.bootNS = time.Now().UnixNano() - ts.Nano()
	if err := s.listen(mcastListen); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: subscribe: %v", ErrUnsupported, err)
	}
	return s, nil
}

func (s *Sensor) listen(op uint32) error {
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))      // nlmsg_len
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)       // nlmsg_type
	binary.NativeEndian.PutUint32(msg[12:], uint32(os.Getpid()))  // nlmsg_pid
	binary.NativeEndian.PutUint32(msg[16:], cnIdxProc)            // cb_id.idx
	binary.NativeEndian.PutUint32(msg[20:], cnValProc)            // cb_id.val
	binary.NativeEndian.PutUint16(msg[32:], 4)                    // len
	binary.NativeEndian.PutUint32(msg[nlmsgHdrLen+cnMsgLen:], op) // PROC_CN_MCAST_*
	return unix.Sendto(s.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// Name implements event.Source.
func (s *Sensor) Name() string { return Name }

// Hooks names what the sensor listens to.
func (s *Sensor) Hooks() []string { return []string{"netlink/NETLINK_CONNECTOR/CN_IDX_PROC", "procfs"} }

// Close unsubscribes and closes the socket. Safe to call twice.
func (s *Sensor) Close() error {
	s.once.Do(func() {
		_ = s.listen(mcastIgnore)
		unix.Close(s.fd)
	})
	return nil
}

// Stats implements event.Source. Lost includes messages the kernel could
// not deliver (ENOBUFS on the socket).
func (s *Sensor) Stats() event.Stats {
	st := event.Stats{Events: map[event.Kind]uint64{}, Lost: s.lost.Load()}
	for k, c := range s.counts {
		if n := c.Load(); n > 0 {
			st.Events[k] = n
		}
	}
	return st
}

// Run implements event.Source; it closes the socket when it returns.
func (s *Sensor) Run(ctx context.Context, out chan<- *event.Event) error {
	defer s.Close()
	stop := context.AfterFunc(ctx, func() {
		// Wake the blocked recvfrom: a receive timeout makes it return.
		_ = unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 1000})
	})
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			switch {
			case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
				continue
			case errors.Is(err, unix.ENOBUFS):
				s.lost.Add(1) // the kernel dropped messages: count, go on
				continue
			}
			return fmt.Errorf("procconn: recv: %w", err)
		}
		msgs, err := ParseMessages(buf[:n])
		if err != nil {
			s.lost.Add(1)
			continue
		}
		for i := range msgs {
			ev := s.toEvent(&msgs[i])
			if ev == nil {
				continue
			}
			s.counts[ev.Kind].Add(1)
			if !event.Deliver(ctx, out, ev, s.full, &s.lost) {
				return nil
			}
		}
	}
}

func (s *Sensor) toEvent(m *Message) *event.Event {
	e := &event.Event{Sensor: Name, KernelTime: m.Timestamp, Time: time.Unix(0, s.bootNS+int64(m.Timestamp))}
	var p event.Process
	var err error
	switch m.What {
	case evExec:
		e.Kind = event.Exec
		p, err = s.fs.Process(m.TGID)
	case evFork:
		if m.ChildPID != m.ChildTGID {
			return nil // a thread
		}
		e.Kind = event.Fork
		p, err = s.fs.Process(m.ChildTGID)
		p.PID, p.PPID = m.ChildTGID, m.TGID
	case evExit:
		if m.PID != m.TGID {
			return nil // a thread
		}
		e.Kind = event.Exit
		p = event.Process{PID: m.TGID, PPID: m.ParentTGID}
		e.ExitCode = int32(m.ExitCode>>8) & 0xff
		e.Signal = int32(m.ExitCode & 0x7f)
	case evUID:
		e.Kind = event.SetUID
		p, err = s.fs.Process(m.TGID)
		e.Cred = &event.Cred{UID: m.EUID, GID: p.GID}
	case evGID:
		e.Kind = event.SetGID
		p, err = s.fs.Process(m.TGID)
		e.Cred = &event.Cred{UID: p.UID, GID: m.EUID}
	case evPtrace:
		if m.TracerTGID == 0 {
			return nil // detach
		}
		e.Kind = event.PtraceOp
		p, err = s.fs.Process(m.TracerTGID)
		e.Ptrace = &event.Ptrace{Request: 16, TargetPID: m.TGID} // PTRACE_ATTACH or SEIZE
	default:
		return nil
	}
	_ = err // a process gone before /proc was read keeps what the message carried
	if p.PID == 0 {
		p.PID = m.TGID
	}
	p.TID = m.PID
	e.Proc = p
	return e
}

// Message is one proc_event.
type Message struct {
	What      uint32
	CPU       uint32
	Timestamp uint64 // ns, CLOCK_MONOTONIC
	PID, TGID uint32 // the process (exec, exit, uid, gid, ptrace target; fork parent)
	// fork
	ChildPID, ChildTGID uint32
	// exit
	ExitCode, ExitSignal  uint32
	ParentPID, ParentTGID uint32
	RUID, EUID            uint32 // uid/gid change (gids in the same fields)
	TracerPID, TracerTGID uint32 // ptrace
	Comm                  string // comm change
}

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("procconn: malformed message")

// ParseMessages parses a datagram of netlink messages carrying cn_msg
// proc_events. Messages for other connectors are skipped.
func ParseMessages(b []byte) ([]Message, error) {
	var out []Message
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return out, fmt.Errorf("%w: %d bytes left, shorter than a netlink header", ErrMalformed, len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < nlmsgHdrLen || l > len(b) {
			return out, fmt.Errorf("%w: netlink length %d of %d", ErrMalformed, l, len(b))
		}
		body := b[nlmsgHdrLen:l]
		next := (l + 3) &^ 3
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
		if typ == unix.NLMSG_NOOP || typ == unix.NLMSG_ERROR || typ == unix.NLMSG_OVERRUN {
			continue
		}
		if len(body) < cnMsgLen {
			return out, fmt.Errorf("%w: %d bytes, shorter than cn_msg", ErrMalformed, len(body))
		}
		idx := binary.NativeEndian.Uint32(body)
		val := binary.NativeEndian.Uint32(body[4:])
		dl := int(binary.NativeEndian.Uint16(body[16:]))
		if idx != cnIdxProc || val != cnValProc {
			continue
		}
		data := body[cnMsgLen:]
		if dl > len(data) {
			return out, fmt.Errorf("%w: cn_msg length %d of %d", ErrMalformed, dl, len(data))
		}
		m, err := parseEvent(data[:dl])
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseEvent(d []byte) (Message, error) {
	var m Message
	if len(d) < procEventHdr {
		return m, fmt.Errorf("%w: proc_event of %d bytes", ErrMalformed, len(d))
	}
	m.What = binary.NativeEndian.Uint32(d)
	m.CPU = binary.NativeEndian.Uint32(d[4:])
	m.Timestamp = binary.NativeEndian.Uint64(d[8:])
	d = d[procEventHdr:]
	u := func(i int) uint32 { return binary.NativeEndian.Uint32(d[i*4:]) }
	need := map[uint32]int{evNone: 0, evFork: 4, evExec: 2, evUID: 4, evGID: 4, evSID: 2, evPtrace: 4, evComm: 2, evCore: 4, evExit: 4}
	n, known := need[m.What]
	if !known {
		return m, nil // a future event type: keep What only
	}
	if len(d) < n*4 {
		return m, fmt.Errorf("%w: event %#x has %d bytes, want %d", ErrMalformed, m.What, len(d), n*4)
	}
	if n >= 2 {
		m.PID, m.TGID = u(0), u(1)
	}
	switch m.What {
	case evFork:
		m.ChildPID, m.ChildTGID = u(2), u(3)
	case evUID, evGID:
		m.RUID, m.EUID = u(2), u(3)
	case evPtrace:
		m.TracerPID, m.TracerTGID = u(2), u(3)
	case evExit:
		m.ExitCode, m.ExitSignal = u(2), u(3)
		if len(d) >= 24 {
			m.ParentPID, m.ParentTGID = u(4), u(5)
		}
	case evComm:
		if len(d) >= 8+16 {
			c := d[8 : 8+16]
			for i, ch := range c {
				if ch == 0 {
					c = c[:i]
					break
				}
			}
			m.Comm = string(c)
		}
	}
	return m, nil
}
