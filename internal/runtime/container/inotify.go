package container

import (
	"context"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startInotify opens the inotify instance that reports new container cgroup
// directories, and watches the usual parents (Docker's cgroupfs and systemd
// drivers); scanCgroups and watchParent add the parents they find.
func (r *Resolver) startInotify(ctx context.Context) {
	if r.o.CgroupRoot == "" {
		return
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		r.log.Warn("container: inotify unavailable; short-lived containers may go unattributed", "err", err)
		return
	}
	r.mu.Lock()
	r.inotify = fd
	r.mu.Unlock()
	for _, d := range []string{"docker", "system.slice"} {
		r.watchDir(filepath.Join(r.o.CgroupRoot, d))
	}
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		r.inotify = -1
		r.mu.Unlock()
		unix.Close(fd) // unblocks the reader
	}()
	go r.readInotify(fd)
}

// watchParent watches the directory holding the cgroup v2 path p (relative
// to the cgroup root), where the container's siblings will be created.
func (r *Resolver) watchParent(p string) {
	if p == "" || r.o.CgroupRoot == "" || ContainerID(p) == "" {
		return
	}
	r.watchDir(filepath.Join(r.o.CgroupRoot, filepath.Dir(p)))
}

func (r *Resolver) watchDir(dir string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inotify < 0 || r.watched[dir] || len(r.watched) > 256 {
		return
	}
	wd, err := unix.InotifyAddWatch(r.inotify, dir, unix.IN_CREATE|unix.IN_ONLYDIR)
	if err != nil {
		return
	}
	r.watched[dir] = true
	r.wdDir[int32(wd)] = dir
}

func (r *Resolver) readInotify(fd int) {
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameLen := int(ev.Len)
			name := ""
			if nameLen > 0 && off+unix.SizeofInotifyEvent+nameLen <= n {
				b := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+nameLen]
				name = unix.ByteSliceToString(b)
			}
			off += unix.SizeofInotifyEvent + nameLen
			if ev.Mask&unix.IN_CREATE == 0 || ev.Mask&unix.IN_ISDIR == 0 {
				continue
			}
			id := ContainerID("/" + name)
			if id == "" {
				continue
			}
			dir := r.dirOfWatch(ev.Wd)
			if dir == "" {
				continue
			}
			if ino := inode(filepath.Join(dir, name)); ino != 0 {
				r.mu.Lock()
				r.byCgroup[ino] = id
				r.mu.Unlock()
				e := r.entryFor(id) // look it up before its first event arrives
				r.mu.Lock()
				e.cgs = appendUnique(e.cgs, ino)
				r.mu.Unlock()
			}
		}
	}
}

func (r *Resolver) dirOfWatch(wd int32) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wdDir[wd]
}
