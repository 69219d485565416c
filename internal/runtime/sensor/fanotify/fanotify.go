//go:build linux

// Package fanotify is the fallback file sensor for kernels where eBPF cannot
// run: fanotify marks on the watched directories and files of the host
// filesystem report opens of watched files (FAN_OPEN) and writes to files in
// watched directories (FAN_CLOSE_WRITE), with the acting pid; /proc fills in
// the process. Directory marks are not recursive (a file directly in
// /etc/, not in /etc/ssh/, unless /etc/ssh/ is watched too), and files
// inside containers' own filesystems are not seen.
package fanotify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

// Name is the sensor's name in events and reports.
const Name = "fanotify"

// ErrUnsupported is wrapped when fanotify cannot be used.
var ErrUnsupported = errors.New("fanotify: unsupported")

// Watch is a watched path: a directory (its direct children) when it ends
// in "/", else one file.
type Watch struct {
	Path  string
	Read  bool // any open
	Write bool // closed after writing
}

// Sensor is an fanotify group; it implements event.Source.
type Sensor struct {
	fd     int
	fs     *procfs.FS
	marks  []string
	self   uint32
	drop   bool
	opens  atomic.Uint64
	lost   atomic.Uint64
	once   sync.Once
	bootNS int64
}

var _ event.Source = (*Sensor)(nil)

// Option configures the sensor.
type Option func(*Sensor)

// WithDropWhenFull drops (and counts in Stats.Lost) events when the output
// channel is full, instead of blocking.
func WithDropWhenFull() Option { return func(s *Sensor) { s.drop = true } }

// New creates the fanotify group and marks the watched paths that exist
// (needs CAP_SYS_ADMIN). It fails when no path could be marked.
func New(watches []Watch, opts ...Option) (*Sensor, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%w: fanotify_init: %v", ErrUnsupported, err)
	}
	s := &Sensor{fd: fd, fs: procfs.Default, self: uint32(os.Getpid())}
	for _, o := range opts {
		o(s)
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	s.bootNS = time.Now().UnixNano() - ts.Nano()
	var firstErr error
	for _, w := range watches {
		var mask uint64
		if w.Read {
			mask |= unix.FAN_OPEN
		}
		if w.Write {
			mask |= unix.FAN_CLOSE_WRITE
		}
		path := w.Path
		if strings.HasSuffix(path, "/") {
			mask |= unix.FAN_EVENT_ON_CHILD
			path = strings.TrimSuffix(path, "/")
			if path == "" {
				path = "/"
			}
		}
		if _, err := os.Stat(path); err != nil {
			continue // not on this host
		}
		if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, mask, unix.AT_FDCWD, path); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("fanotify_mark %s: %v", path, err)
			}
			continue
		}
		s.marks = append(s.marks, w.Path)
	}
	if len(s.marks) == 0 {
		unix.Close(fd)
		if firstErr == nil {
			firstErr = errors.New("no watched path exists")
		}
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, firstErr)
	}
	return s, nil
}

// Name implements event.Source.
func (s *Sensor) Name() string { return Name }

// Hooks lists the marked paths.
func (s *Sensor) Hooks() []string {
	h := make([]string, len(s.marks))
	for i, m := range s.marks {
		h[i] = "fanotify:" + m
	}
	return h
}

// Close closes the group. Safe to call twice.
func (s *Sensor) Close() error {
	s.once.Do(func() { unix.Close(s.fd) })
	return nil
}

// Stats implements event.Source.
func (s *Sensor) Stats() event.Stats {
	st := event.Stats{Events: map[event.Kind]uint64{}, Lost: s.lost.Load()}
	if n := s.opens.Load(); n > 0 {
		st.Events[event.Open] = n
	}
	return st
}

// Run implements event.Source; it closes the group when it returns.
func (s *Sensor) Run(ctx context.Context, out chan<- *event.Event) error {
	defer s.Close()
	buf := make([]byte, 64<<10)
	for {
		// Poll with a timeout so a cancelled ctx is noticed.
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 200)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("fanotify: poll: %w", err)
		}
		if n == 0 {
			continue
		}
		n, err = unix.Read(s.fd, buf)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return fmt.Errorf("fanotify: read: %w", err)
		}
		metas, err := ParseEvents(buf[:n])
		if err != nil {
			s.lost.Add(1)
		}
		for _, m := range metas {
			ev := s.toEvent(m)
			if ev == nil {
				continue
			}
			s.opens.Add(1)
			if !event.Deliver(ctx, out, ev, s.drop, &s.lost) {
				return nil
			}
		}
	}
}

func (s *Sensor) toEvent(m Meta) *event.Event {
	if m.FD < 0 {
		if m.Mask&unix.FAN_Q_OVERFLOW != 0 {
			s.lost.Add(1) // the kernel's queue overflowed
		}
		return nil
	}
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(m.FD)))
	unix.Close(int(m.FD))
	if err != nil || m.PID == int32(s.self) {
		return nil
	}
	now := time.Now()
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	p, _ := s.fs.Process(uint32(m.PID))
	if p.PID == 0 {
		p.PID = uint32(m.PID)
	}
	return &event.Event{
		Time: now, Kind: event.Open, Sensor: Name, Proc: p, KernelTime: uint64(ts.Nano()),
		File: &event.File{Path: path, Write: m.Mask&unix.FAN_CLOSE_WRITE != 0},
	}
}

// Meta is one fanotify_event_metadata record.
type Meta struct {
	Mask uint64
	FD   int32
	PID  int32
}

const metaLen = 24 // event_len, vers, reserved, metadata_len, mask, fd, pid

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("fanotify: malformed event")

// ParseEvents parses a read buffer of fanotify events. Records of another
// metadata version are an error; extra information records after the
// metadata are skipped by event_len.
func ParseEvents(b []byte) ([]Meta, error) {
	var out []Meta
	for len(b) > 0 {
		if len(b) < metaLen {
			return out, fmt.Errorf("%w: %d bytes left", ErrMalformed, len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if b[4] != unix.FANOTIFY_METADATA_VERSION {
			return out, fmt.Errorf("%w: version %d", ErrMalformed, b[4])
		}
		if l < metaLen || l > len(b) {
			return out, fmt.Errorf("%w: length %d of %d", ErrMalformed, l, len(b))
		}
		out = append(out, Meta{
			Mask: binary.NativeEndian.Uint64(b[8:]),
			FD:   int32(binary.NativeEndian.Uint32(b[16:])),
			PID:  int32(binary.NativeEndian.Uint32(b[20:])),
		})
		b = b[l:]
	}
	return out, nil
}
