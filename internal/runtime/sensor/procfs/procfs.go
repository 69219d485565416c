//go:build linux

// Package procfs reads what the runtime sensors need about a process from
// /proc: identity, credentials, executable, arguments, working directory,
// cgroup id and namespaces. The eBPF sensor uses it for processes that
// started before it did; the proc connector sensor uses it for everything.
//
// Reads race with the process: a process that exits first yields an error
// wrapping fs.ErrNotExist, and fields read before it exited are kept.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Limits on what is read from one process.
const (
	MaxArgs     = 64   // arguments kept
	MaxArgBytes = 4096 // bytes of /proc/<pid>/cmdline read
)

// FS reads one /proc tree.
type FS struct {
	proc   string // "/proc"
	cgroup string // cgroup v2 mount, "/sys/fs/cgroup"
	boot   time.Time
	tick   float64 // clock ticks per second (USER_HZ)
}

// New returns an FS reading proc (usually "/proc") and resolving cgroup
// paths under cgroupRoot (usually "/sys/fs/cgroup", cgroup v2).
func New(proc, cgroupRoot string) *FS {
	return &FS{proc: proc, cgroup: cgroupRoot, boot: bootTime(), tick: 100}
}

// Default is the host's /proc and its cgroup v2 mount (found in
// /proc/self/mountinfo: /sys/fs/cgroup on unified hosts,
// /sys/fs/cgroup/unified on hybrid cgroup v1 hosts).
var Default = New("/proc", Cgroup2Mount())

// Cgroup2Mount is where the cgroup v2 hierarchy is mounted
// ("/sys/fs/cgroup" when it cannot be found).
func Cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "/sys/fs/cgroup"
	}
	if m, ok := cgroup2FromMountinfo(b); ok {
		return m
	}
	return "/sys/fs/cgroup"
}

// cgroup2FromMountinfo finds the first cgroup2 mount point: the mount
// point is field 5, the filesystem type follows the " - " separator.
func cgroup2FromMountinfo(b []byte) (string, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 {
			return f[4], true
		}
	}
	return "", false
}

// bootTime is the wall-clock time of boot (CLOCK_BOOTTIME origin).
func bootTime() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// Process reads /proc/<pid>. The error wraps fs.ErrNotExist when the process
// is gone; what was read before is returned with it.
func (f *FS) Process(pid uint32) (event.Process, error) {
	p := event.Process{PID: pid}
	dir := filepath.Join(f.proc, strconv.FormatUint(uint64(pid), 10))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return p, fmt.Errorf("procfs: %w", err)
	}
	st, err := ParseStat(stat)
	if err != nil {
		return p, err
	}
	p.Comm = st.Comm
	p.PPID = st.PPID
	p.TTY = st.TTYNr != 0
	if !f.boot.IsZero() {
		p.Start = f.boot.Add(time.Duration(float64(st.StartTicks) / f.tick * float64(time.Second)))
	}
	if status, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		ids, err := ParseStatusIDs(status)
		if err == nil {
			p.UID, p.EUID, p.GID, p.EGID = ids.UID, ids.EUID, ids.GID, ids.EGID
		}
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Exe, p.ExeDeleted = trimDeleted(exe)
	}
	if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.Cwd = cwd
	}
	if cmd, err := readLimited(filepath.Join(dir, "cmdline"), MaxArgBytes); err == nil {
		p.Args = SplitArgs(cmd, MaxArgs)
	}
	p.MntNS = NSInode(filepath.Join(dir, "ns", "mnt"))
	p.PidNS = NSInode(filepath.Join(dir, "ns", "pid"))
	if cg, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		if path, ok := CgroupV2Path(cg); ok {
			p.CgroupID = f.CgroupID(path)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return p, fmt.Errorf("procfs: %w", err) // exited while being read
	}
	return p, nil
}

// PIDs lists the processes (thread-group ids) in /proc.
func (f *FS) PIDs() ([]uint32, error) {
	ents, err := os.ReadDir(f.proc)
	if err != nil {
		return nil, fmt.Errorf("procfs: %w", err)
	}
	pids := make([]uint32, 0, len(ents))
	for _, e := range ents {
		n, err := strconv.ParseUint(e.Name(), 10, 32)
		if err == nil && n > 0 {
			pids = append(pids, uint32(n))
		}
	}
	return pids, nil
}

// FDPath is the target of /proc/<pid>/fd/<fd> ("" when unreadable).
func (f *FS) FDPath(pid uint32, fd int64) string {
	s, err := os.Readlink(filepath.Join(f.proc, strconv.FormatUint(uint64(pid), 10), "fd", strconv.FormatInt(fd, 10)))
	if err != nil {
		return ""
	}
	return s
}

// Cwd is the target of /proc/<pid>/cwd ("" when unreadable).
func (f *FS) Cwd(pid uint32) string {
	s, err := os.Readlink(filepath.Join(f.proc, strconv.FormatUint(uint64(pid), 10), "cwd"))
	if err != nil {
		return ""
	}
	return s
}

// CgroupID is the id of the cgroup v2 at path (relative to the cgroup root):
// the inode number of its directory, which is what
// bpf_get_current_cgroup_id returns. 0 when it cannot be read.
func (f *FS) CgroupID(path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(f.cgroup, path), &st); err != nil {
		return 0
	}
	return st.Ino
}

// Stat is the part of /proc/<pid>/stat the sensors use.
type Stat struct {
	PID        uint32
	Comm       string
	State      byte
	PPID       uint32
	TTYNr      int64
	StartTicks uint64 // field 22: start time in clock ticks after boot
}

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("procfs: malformed")

// ParseStat parses /proc/<pid>/stat. The comm field may hold spaces and
// parentheses; it ends at the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return s, fmt.Errorf("%w stat: no (comm)", ErrMalformed)
	}
	pid, err := strconv.ParseUint(string(bytes.TrimSpace(b[:open])), 10, 32)
	if err != nil {
		return s, fmt.Errorf("%w stat pid: %v", ErrMalformed, err)
	}
	s.PID = uint32(pid)
	s.Comm = string(b[open+1 : closing])
	rest := strings.Fields(string(b[closing+1:]))
	// rest[0] is field 3 (state); field N is rest[N-3].
	if len(rest) < 20 {
		return s, fmt.Errorf("%w stat: %d fields after comm", ErrMalformed, len(rest))
	}
	if len(rest[0]) != 1 {
		return s, fmt.Errorf("%w stat state %q", ErrMalformed, rest[0])
	}
	s.State = rest[0][0]
	ppid, err := strconv.ParseUint(rest[1], 10, 32)
	if err != nil {
		return s, fmt.Errorf("%w stat ppid: %v", ErrMalformed, err)
	}
	s.PPID = uint32(ppid)
	if s.TTYNr, err = strconv.ParseInt(rest[4], 10, 64); err != nil {
		return s, fmt.Errorf("%w stat tty_nr: %v", ErrMalformed, err)
	}
	if s.StartTicks, err = strconv.ParseUint(rest[19], 10, 64); err != nil {
		return s, fmt.Errorf("%w stat starttime: %v", ErrMalformed, err)
	}
	return s, nil
}

// IDs are the real and effective user and group ids.
type IDs struct{ UID, EUID, GID, EGID uint32 }

// ParseStatusIDs reads the Uid: and Gid: lines of /proc/<pid>/status.
func ParseStatusIDs(b []byte) (IDs, error) {
	var ids IDs
	var seen int
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var dst [2]*uint32
		switch {
		case bytes.HasPrefix(line, []byte("Uid:")):
			dst = [2]*uint32{&ids.UID, &ids.EUID}
		case bytes.HasPrefix(line, []byte("Gid:")):
			dst = [2]*uint32{&ids.GID, &ids.EGID}
		default:
			continue
		}
		f := strings.Fields(string(line[4:]))
		if len(f) < 2 {
			return ids, fmt.Errorf("%w status: %q", ErrMalformed, line)
		}
		for i := range dst {
			n, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return ids, fmt.Errorf("%w status: %q", ErrMalformed, line)
			}
			*dst[i] = uint32(n)
		}
		seen++
	}
	if seen != 2 {
		return ids, fmt.Errorf("%w status: no Uid/Gid lines", ErrMalformed)
	}
	return ids, nil
}

// CgroupV2Path returns the path of the unified ("0::") line of
// /proc/<pid>/cgroup.
func CgroupV2Path(b []byte) (string, bool) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if p, ok := bytes.CutPrefix(line, []byte("0::")); ok {
			return string(p), true
		}
	}
	return "", false
}

// SplitArgs splits NUL-separated arguments, keeping at most max.
func SplitArgs(b []byte, max int) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	n := bytes.Count(b, []byte{0}) + 1
	if n > max {
		n = max
	}
	args := make([]string, 0, n)
	for len(b) > 0 && len(args) < max {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			args = append(args, string(b))
			break
		}
		args = append(args, string(b[:i]))
		b = b[i+1:]
	}
	return args
}

func trimDeleted(s string) (string, bool) {
	if t, ok := strings.CutSuffix(s, " (deleted)"); ok {
		return t, true
	}
	return s, strings.HasPrefix(s, "/memfd:")
}

// NSInode is the inode number of a namespace link
// ("/proc/self/ns/pid" reads "pid:[4026531836]"), 0 when it cannot be read.
func NSInode(link string) uint32 {
	s, err := os.Readlink(link) // "mnt:[4026531841]"
	if err != nil {
		return 0
	}
	i := strings.IndexByte(s, '[')
	if i < 0 || !strings.HasSuffix(s, "]") {
		return 0
	}
	n, err := strconv.ParseUint(s[i+1:len(s)-1], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

func readLimited(path string, max int) ([]byte, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	buf := make([]byte, max)
	n, err := fd.Read(buf)
	if err != nil && !errors.Is(err, syscall.EINTR) && n == 0 {
		return nil, err
	}
	return buf[:n], nil
}
