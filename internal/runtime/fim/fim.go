// Package fim is file integrity monitoring for the agent: it hashes the
// container runtime's binaries (dockerd, containerd, containerd-shim*,
// runc, docker) and user-listed directories at start, watches them with
// inotify and reports every change (modified, created, deleted, mode or
// owner changed) as an event.FileHash event, which the rules turn into
// alerts. It is an event.Source.
package fim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Name is the source's name.
const Name = "inotify"

// RuntimeBinaries are the container runtime's programs watched by default.
var RuntimeBinaries = []string{"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v1",
	"containerd-shim-runc-v2", "runc", "docker", "docker-proxy", "docker-init"}

// BinaryDirs are searched for RuntimeBinaries.
var BinaryDirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin", "/usr/libexec/docker"}

// Options configure a Monitor.
type Options struct {
	// Files are watched files; nil means the RuntimeBinaries found in
	// BinaryDirs (symlinks resolved). Use an empty non-nil slice for none.
	Files []string
	// Dirs are watched directory trees (every regular file below).
	Dirs []string
	// MaxFiles bounds the files watched in Dirs (default 10000).
	MaxFiles int
	// MaxFileSize: bigger files are watched for changes by size and mtime,
	// not hashed (default 512 MiB).
	MaxFileSize int64
	// Rescan re-hashes everything at this interval, catching changes
	// inotify missed (queue overflow); 0 disables it.
	Rescan time.Duration
	Logger *slog.Logger
}

type state struct {
	hash     string
	size     int64
	mode     fs.FileMode
	uid, gid uint32
	mtime    time.Time
	exists   bool
	underDir bool // found in a watched directory
}

// Monitor is the file integrity source.
type Monitor struct {
	o     Options
	log   *slog.Logger
	mu    sync.Mutex
	files map[string]*state // watched path -> last known state
	dirs  map[string]bool   // watched directory trees' roots
	wds   map[int32]string  // inotify watch -> directory
	fd    int

	events map[event.Kind]uint64
	lost   uint64
}

// New hashes the watched files. A file listed in Files that does not exist
// is an error; RuntimeBinaries not found are skipped.
func New(o Options) (*Monitor, error) {
	if o.MaxFiles <= 0 {
		o.MaxFiles = 10000
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 512 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{o: o, log: o.Logger, files: map[string]*state{}, dirs: map[string]bool{}, wds: map[int32]string{},
		fd: -1, events: map[event.Kind]uint64{}}
	files := o.Files
	if files == nil {
		files = FindRuntimeBinaries()
	}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("fim: %w", err)
		}
		st := m.stat(abs)
		if !st.exists {
			return nil, fmt.Errorf("fim: %s: not a readable regular file", f)
		}
		m.files[abs] = st
	}
	for _, d := range o.Dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("fim: %w", err)
		}
		fi, err := os.Stat(abs)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("fim: %s: not a directory", d)
		}
		m.dirs[abs] = true
		if err := m.scanDir(abs); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// FindRuntimeBinaries returns the RuntimeBinaries present in BinaryDirs,
// symlinks resolved, without duplicates.
func FindRuntimeBinaries() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range BinaryDirs {
		for _, b := range RuntimeBinaries {
			p, err := filepath.EvalSymlinks(filepath.Join(d, b))
			if err != nil || seen[p] {
				continue
			}
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Watched returns the watched files, sorted.
func (m *Monitor) Watched() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p, st := range m.files {
		if st.exists {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Hash returns the SHA-256 recorded for a watched file.
func (m *Monitor) Hash(path string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.files[path]
	if !ok || !st.exists {
		return "", false
	}
	return st.hash, true
}

func (m *Monitor) scanDir(root string) error {
	n := 0
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are skipped
		}
		if d.Type().IsRegular() {
			n++
			if n > m.o.MaxFiles {
				return fmt.Errorf("fim: %s: more than %d files (raise the limit or watch a smaller tree)", root, m.o.MaxFiles)
			}
			st := m.stat(p)
			st.underDir = true
			m.mu.Lock()
			if _, ok := m.files[p]; !ok {
				m.files[p] = st
			}
			m.mu.Unlock()
		}
		return nil
	})
}

// stat reads a file's state, hashing it.
func (m *Monitor) stat(p string) *state {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return &state{}
	}
	st := &state{exists: true, size: fi.Size(), mode: fi.Mode(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*unix.Stat_t); ok {
		st.uid, st.gid = sys.Uid, sys.Gid
	} else if sys, ok := fi.Sys().(interface{ Uid() uint32 }); ok {
		st.uid = sys.Uid()
	}
	if fi.Size() <= m.o.MaxFileSize {
		h, err := hashFile(p)
		if err != nil {
			return &state{}
		}
		st.hash = h
	}
	return st
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (m *Monitor) Name() string { return Name }

func (m *Monitor) Stats() event.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := make(map[event.Kind]uint64, len(m.events))
	for k, v := range m.events {
		ev[k] = v
	}
	return event.Stats{Events: ev, Lost: m.lost}
}

const watchMask = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// Run watches until ctx ends.
func (m *Monitor) Run(ctx context.Context, out chan<- *event.Event) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("fim: inotify: %w", err)
	}
	m.mu.Lock()
	m.fd = fd
	dirs := map[string]bool{}
	for p, st := range m.files {
		if !st.underDir {
			dirs[filepath.Dir(p)] = true
		}
	}
	m.mu.Unlock()
	for d := range dirs {
		m.addWatch(d)
	}
	for root := range m.dirs {
		m.addTree(root)
	}
	defer unix.Close(fd)

	var rescan <-chan time.Time
	if m.o.Rescan > 0 {
		t := time.NewTicker(m.o.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	buf := make([]byte, 64<<10)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rescan:
			m.check(ctx, out, m.allPaths())
		default:
		}
		n, err := unix.Poll(pfd, 200)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("fim: poll: %w", err)
		}
		if n <= 0 {
			continue
		}
		// Gather the burst (a file is created, written, then closed; a
		// binary is written then chmod'ed) until 50ms pass quietly, so one
		// change is one event with the final hash.
		var changed []string
		for i := 0; i < 40; i++ {
			c, err := m.readEvents(fd, buf)
			if err != nil {
				return err
			}
			changed = append(changed, c...)
			if n, _ := unix.Poll(pfd, 50); n <= 0 {
				break
			}
		}
		m.check(ctx, out, changed)
	}
}

// readEvents reads one batch of inotify events and returns the paths that
// may have changed.
func (m *Monitor) readEvents(fd int, buf []byte) ([]string, error) {
	n, err := unix.Read(fd, buf)
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return nil, nil
		}
		return nil, fmt.Errorf("fim: read: %w", err)
	}
	var changed []string
	overflow := false
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ie := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := ""
		if l := int(ie.Len); l > 0 && off+unix.SizeofInotifyEvent+l <= n {
			name = unix.ByteSliceToString(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+l])
		}
		off += unix.SizeofInotifyEvent + int(ie.Len)
		if ie.Mask&unix.IN_Q_OVERFLOW != 0 {
			overflow = true
			continue
		}
		m.mu.Lock()
		dir := m.wds[ie.Wd]
		m.mu.Unlock()
		if dir == "" || name == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if ie.Mask&unix.IN_ISDIR != 0 {
			if ie.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && m.inTree(p) {
				m.addTree(p)
				changed = append(changed, m.treeFiles(p)...)
			}
			continue
		}
		if m.interesting(p) {
			changed = append(changed, p)
		}
	}
	if overflow {
		m.mu.Lock()
		m.lost++
		m.mu.Unlock()
		changed = m.allPaths()
	}
	return changed, nil
}

func (m *Monitor) addWatch(dir string) {
	wd, err := unix.InotifyAddWatch(m.fd, dir, watchMask)
	if err != nil {
		m.log.Warn("fim: cannot watch", "dir", dir, "err", err)
		return
	}
	m.mu.Lock()
	m.wds[int32(wd)] = dir
	m.mu.Unlock()
}

func (m *Monitor) addTree(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			m.addWatch(p)
		}
		return nil
	})
}

func (m *Monitor) treeFiles(root string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (m *Monitor) inTree(p string) bool {
	for root := range m.dirs {
		if p == root || len(p) > len(root) && p[:len(root)] == root && p[len(root)] == '/' {
			return true
		}
	}
	return false
}

func (m *Monitor) interesting(p string) bool {
	m.mu.Lock()
	_, ok := m.files[p]
	m.mu.Unlock()
	return ok || m.inTree(p)
}

func (m *Monitor) allPaths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.files))
	for p := range m.files {
		out = append(out, p)
	}
	return out
}

// check compares the current state of paths with the recorded one and
// emits an event for each change.
func (m *Monitor) check(ctx context.Context, out chan<- *event.Event, paths []string) {
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		now := m.stat(p)
		m.mu.Lock()
		old, ok := m.files[p]
		if !ok {
			if len(m.files) >= m.o.MaxFiles+len(m.dirs) && m.inTree(p) {
				m.lost++
				m.mu.Unlock()
				continue
			}
			old = &state{underDir: m.inTree(p)}
		}
		now.underDir = old.underDir
		change := diff(old, now)
		if change != "" {
			m.files[p] = now
			if !now.exists && old.underDir {
				delete(m.files, p)
			}
			m.events[event.FileHash]++
		}
		m.mu.Unlock()
		if change == "" {
			continue
		}
		ev := &event.Event{Time: time.Now(), Kind: event.FileHash, Sensor: Name, Container: event.Container{Host: true},
			File:       &event.File{Path: p, Write: change != "deleted", Mode: uint32(now.mode.Perm())},
			Integrity:  &event.Integrity{OldSHA256: old.hash, NewSHA256: now.hash, Change: change},
			KernelTime: monotonic()}
		select {
		case out <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// diff names the change from a to b, or "".
func diff(a, b *state) string {
	switch {
	case !a.exists && !b.exists:
		return ""
	case !a.exists:
		return "created"
	case !b.exists:
		return "deleted"
	case a.hash != b.hash || a.size != b.size || (a.hash == "" && !a.mtime.Equal(b.mtime)):
		return "modified"
	case a.mode != b.mode:
		return "mode"
	case a.uid != b.uid || a.gid != b.gid:
		return "owner"
	}
	return ""
}

func monotonic() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}
