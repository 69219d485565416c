package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
)

// joinRoot places an absolute host path below root without resolving
// anything.
func joinRoot(root, p string) string {
	if root == "/" {
		return path.Clean("/" + p)
	}
	return filepath.Join(root, path.Clean("/"+p))
}

// path returns the host path p below the Env's root with symlinks resolved
// inside the root (so /var/run -> /run stays below it); on a resolution
// error it falls back to the plain join, whose Lstat then reports the error.
func (e *Env) path(p string) string {
	r, err := resolveIn(e.root, p)
	if err != nil {
		return joinRoot(e.root, p)
	}
	return r
}

// resolveIn resolves the directory components of the host path p below
// root, treating absolute symlink targets as relative to root, like a
// chroot would. The last component is not followed (stat -c %U behaves
// the same way for sockets and files; a symlinked file is reported as the
// link, which is what CIS audits look at).
func resolveIn(root, p string) (string, error) {
	p = path.Clean("/" + p)
	if root == "/" {
		dir, err := filepath.EvalSymlinks(path.Dir(p))
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, path.Base(p)), nil
	}
	parts := strings.Split(strings.TrimPrefix(path.Dir(p), "/"), "/")
	cur := "/"
	links := 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		fi, err := os.Lstat(joinRoot(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(joinRoot(root, next))
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest := strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/")
		parts = append(rest, parts...)
		cur = "/"
	}
	return joinRoot(root, path.Join(cur, path.Base(p))), nil
}

// readFileIn reads a host file below root, at most limit bytes (an error if
// longer).
func readFileIn(root, p string, limit int64) ([]byte, error) {
	rp, err := resolveIn(root, p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(rp)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) >= limit {
		return nil, fmt.Errorf("larger than %d bytes", limit-1)
	}
	return b, nil
}

// fileMeta is what section 3 checks look at.
type fileMeta struct {
	Path string // host path
	Mode fs.FileMode
	UID  int
	GID  int
}

// stat returns the metadata of a host path, not following a final symlink.
func (e *Env) stat(p string) (fileMeta, error) {
	fi, err := os.Lstat(e.path(p))
	if err != nil {
		return fileMeta{}, err
	}
	m := fileMeta{Path: p, Mode: fi.Mode(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.UID, m.GID = int(st.Uid), int(st.Gid)
	}
	return m, nil
}

// accounts loads /etc/passwd and /etc/group below the root.
func (e *Env) accounts() error {
	e.acctOnce.Do(func() {
		e.users, e.groups, e.members = map[int]string{}, map[int]string{}, map[string][]string{}
		pw, err := readFileIn(e.root, "/etc/passwd", 16<<20)
		if err != nil {
			e.acctErr = fmt.Errorf("/etc/passwd: %w", err)
			return
		}
		for _, line := range strings.Split(string(pw), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 || strings.HasPrefix(f[0], "#") {
				continue
			}
			if uid, err := strconv.Atoi(f[2]); err == nil {
				if _, dup := e.users[uid]; !dup {
					e.users[uid] = f[0]
				}
			}
		}
		gr, err := readFileIn(e.root, "/etc/group", 16<<20)
		if err != nil {
			e.acctErr = fmt.Errorf("/etc/group: %w", err)
			return
		}
		for _, line := range strings.Split(string(gr), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 || strings.HasPrefix(f[0], "#") {
				continue
			}
			if gid, err := strconv.Atoi(f[2]); err == nil {
				if _, dup := e.groups[gid]; !dup {
					e.groups[gid] = f[0]
				}
			}
			var ms []string
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					ms = append(ms, m)
				}
			}
			e.members[f[0]] = ms
		}
	})
	return e.acctErr
}

// ownerString renders uid:gid with names from the root's account files.
func (e *Env) ownerString(uid, gid int) string {
	_ = e.accounts()
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	if n, ok := e.users[uid]; ok {
		u = n
	}
	if n, ok := e.groups[gid]; ok {
		g = n
	}
	return u + ":" + g
}

// groupID returns the gid of a group name in the root's /etc/group.
func (e *Env) groupID(name string) (int, bool) {
	if err := e.accounts(); err != nil {
		return 0, false
	}
	for gid, n := range e.groups {
		if n == name {
			return gid, true
		}
	}
	return 0, false
}

// homeOf returns a user's home directory from root's /etc/passwd.
func homeOf(root string, uid int) string {
	pw, err := readFileIn(root, "/etc/passwd", 16<<20)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(pw), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 6 && f[2] == strconv.Itoa(uid) {
			return f[5]
		}
	}
	return ""
}

// unitDirs are where systemd keeps unit files, most specific first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// unitFile locates a systemd unit file: `systemctl show -p FragmentPath`
// when host commands are allowed and systemd answers, else the first of the
// usual directories holding it. It returns "" when there is none.
func (e *Env) unitFile(ctx context.Context, unit string) string {
	if *e.hostCmds {
		if _, err := exec.LookPath("systemctl"); err == nil {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			out, err := exec.CommandContext(c, "systemctl", "show", "-p", "FragmentPath", unit).Output()
			cancel()
			if err == nil {
				if p, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "FragmentPath="); ok && p != "" {
					if _, err := os.Lstat(e.path(p)); err == nil {
						return p
					}
				}
			}
		}
	}
	for _, d := range unitDirs {
		p := path.Join(d, unit)
		if _, err := os.Lstat(e.path(p)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
	return ""
}

// findBinary returns the host path of a program in the usual directories.
func (e *Env) findBinary(name string) string {
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"} {
		p := path.Join(d, name)
		if fi, err := os.Stat(e.path(p)); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	Device     string // major:minor
	Root       string // root of the mount within its filesystem
	MountPoint string
	FSType     string
	Source     string
}

// ParseMountInfo parses /proc/<pid>/mountinfo (moby/sys/mountinfo, which
// also undoes the \040-style escapes). A malformed line is an error.
func ParseMountInfo(r io.Reader) ([]mountInfo, error) {
	ms, err := mountinfo.GetMountsFromReader(r, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: mountinfo: %w", err)
	}
	out := make([]mountInfo, 0, len(ms))
	for _, m := range ms {
		out = append(out, mountInfo{
			Device: fmt.Sprintf("%d:%d", m.Major, m.Minor), Root: m.Root, MountPoint: m.Mountpoint,
			FSType: m.FSType, Source: m.Source,
		})
	}
	return out, nil
}

func (e *Env) mountTable() ([]mountInfo, error) {
	e.mountOnce.Do(func() {
		b, err := readFileIn(e.root, "/proc/self/mountinfo", 16<<20)
		if err != nil {
			e.mountErr = err
			return
		}
		e.mounts, e.mountErr = ParseMountInfo(strings.NewReader(string(b)))
	})
	return e.mounts, e.mountErr
}
