//go:build linux

package ebpf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Superblock magics (linux/magic.h).
const (
	overlayfsMagic = 0x794c7630
	fuseMagic      = 0x65735546
)

// fuseLayers finds the upper (writable) directory of fuse-overlayfs mounts,
// the storage driver Docker uses where kernel overlayfs is not available.
// The kernel cannot tell which layer a FUSE file comes from, so the sensor
// records the executable's device and asks here: the fuse-overlayfs
// process serving that device was started with "-o ...,upperdir=DIR,..."
// and the mount point; an executable is in the upper layer when DIR holds
// the same path.
type fuseLayers struct {
	proc string

	mu       sync.Mutex
	byDev    map[uint64]string // st_dev of a mount point → upperdir
	lastScan time.Time
}

func newFuseLayers(proc string) *fuseLayers {
	return &fuseLayers{proc: proc, byDev: map[uint64]string{}}
}

// kernelDev converts the kernel's internal dev_t (major << 20 | minor) to
// the user-space encoding of stat's st_dev.
func kernelDev(d uint32) uint64 { return unix.Mkdev(d>>20, d&0xfffff) }

// inUpper says whether path (as seen inside the mount) exists in the upper
// directory of the fuse-overlayfs mount with device dev; known is false
// when no fuse-overlayfs serves dev.
func (f *fuseLayers) inUpper(dev uint64, path string) (upper, known bool) {
	dir := f.upperDir(dev)
	if dir == "" {
		return false, false
	}
	_, err := os.Lstat(filepath.Join(dir, filepath.Clean("/"+path)))
	return err == nil, true
}

func (f *fuseLayers) upperDir(dev uint64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.byDev[dev]; ok {
		return d
	}
	if time.Since(f.lastScan) < 200*time.Millisecond {
		return ""
	}
	f.lastScan = time.Now()
	f.scan()
	return f.byDev[dev]
}

// scan finds the fuse-overlayfs mounts in /proc/self/mountinfo and their
// upper directories: the upperdir= option of the fuse-overlayfs process
// serving the mount point when it can be read, otherwise the "diff"
// sibling of a ".../merged" mount point (Docker's layout).
func (f *fuseLayers) scan() {
	mi, err := os.ReadFile(filepath.Join(f.proc, "self", "mountinfo"))
	if err != nil {
		return
	}
	byMnt := f.fromProcesses()
	for _, m := range parseFuseMounts(mi) {
		upper := byMnt[m.point]
		if upper == "" && filepath.Base(m.point) == "merged" {
			upper = filepath.Join(filepath.Dir(m.point), "diff")
		}
		if upper == "" {
			continue
		}
		if st, err := os.Stat(upper); err != nil || !st.IsDir() {
			continue
		}
		f.byDev[m.dev] = upper
	}
}

type fuseMount struct {
	dev   uint64
	point string
}

// parseFuseMounts lists the fuse-overlayfs mounts of a mountinfo file
// (moby/sys/mountinfo parses it and undoes the \040-style escapes).
func parseFuseMounts(b []byte) []fuseMount {
	ms, err := mountinfo.GetMountsFromReader(bytes.NewReader(b), mountinfo.FSTypeFilter("fuse.fuse-overlayfs"))
	if err != nil {
		return nil
	}
	out := make([]fuseMount, 0, len(ms))
	for _, m := range ms {
		out = append(out, fuseMount{dev: unix.Mkdev(uint32(m.Major), uint32(m.Minor)), point: m.Mountpoint})
	}
	return out
}

// fromProcesses maps mount points to the upperdir option of the running
// fuse-overlayfs processes.
func (f *fuseLayers) fromProcesses() map[string]string {
	m := map[string]string{}
	ents, err := os.ReadDir(f.proc)
	if err != nil {
		return m
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		dir := filepath.Join(f.proc, e.Name())
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "fuse-overlayfs" {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(cmd) == 0 {
			continue
		}
		upper, mnt := parseFuseOverlayCmdline(strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00"))
		if upper != "" && mnt != "" {
			m[mnt] = upper
		}
	}
	return m
}

// parseFuseOverlayCmdline returns the upperdir option and the mount point
// (the last argument that is neither an option nor an option's value).
func parseFuseOverlayCmdline(args []string) (upper, mnt string) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" && i+1 < len(args):
			i++
			for _, o := range strings.Split(args[i], ",") {
				if v, ok := strings.CutPrefix(o, "upperdir="); ok {
					upper = v
				}
			}
		case strings.HasPrefix(a, "-o"):
			for _, o := range strings.Split(a[2:], ",") {
				if v, ok := strings.CutPrefix(o, "upperdir="); ok {
					upper = v
				}
			}
		case strings.HasPrefix(a, "-"):
		default:
			mnt = a
		}
	}
	return upper, mnt
}
