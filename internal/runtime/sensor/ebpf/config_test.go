//go:build linux

package ebpf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMatchWatches(t *testing.T) {
	ws := []Watch{
		{Prefix: "/etc/", Write: true},
		{Prefix: "/etc/shadow", Read: true, Write: true},
		{Prefix: "/run/docker.sock$", Read: true},
	}
	tests := []struct {
		path  string
		write bool
		want  bool
	}{
		{"/etc/passwd", false, false},
		{"/etc/passwd", true, true},
		{"/etc/shadow", false, true},
		{"/etc/shadow-", false, true},
		{"/run/docker.sock", false, true},
		{"/run/docker.sock.bak", false, false},
		{"/usr/bin/x", true, false},
	}
	for _, tc := range tests {
		if got := matchWatches(ws, tc.path, tc.write); got != tc.want {
			t.Errorf("%s write=%v: %v, want %v", tc.path, tc.write, got, tc.want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Option{
		WithWatches([]Watch{{Prefix: "etc/", Write: true}}),
		WithWatches([]Watch{{Prefix: "/etc/"}}),
		WithWatches([]Watch{{Prefix: "/" + strings.Repeat("a", 200), Read: true}}),
		WithRingBufferSize(3 << 20),
		WithRingBufferSize(1024),
		WithBatching(64<<20, time.Millisecond), // threshold beyond the ring
		WithBatching(4096, 0),                  // batching without polling
	}
	for i, o := range bad {
		if _, err := newConfig([]Option{o}); err == nil {
			t.Errorf("bad option %d accepted", i)
		}
	}
	if _, err := newConfig(nil); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestParseFuseOverlay(t *testing.T) {
	upper, mnt := parseFuseOverlayCmdline([]string{"fuse-overlayfs", "-o", "lowerdir=/l/a:/l/b,upperdir=/d/x/diff,workdir=/d/x/work", "/d/x/merged"})
	if upper != "/d/x/diff" || mnt != "/d/x/merged" {
		t.Errorf("%q %q", upper, mnt)
	}
	mi := "46 45 0:40 / /var/lib/docker/fuse-overlayfs/abc/merged rw,nodev shared:2 - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=0\n" +
		"47 45 8:1 / /data\\040dir rw - ext4 /dev/sda1 rw\n" +
		"48 45 0:41 / /data\\040dir/merged rw - fuse.fuse-overlayfs fuse-overlayfs rw\n"
	ms := parseFuseMounts([]byte(mi))
	if len(ms) != 2 || ms[0].dev != unix.Mkdev(0, 40) || ms[0].point != "/var/lib/docker/fuse-overlayfs/abc/merged" ||
		ms[1].dev != unix.Mkdev(0, 41) || ms[1].point != "/data dir/merged" {
		t.Errorf("%+v", ms)
	}
	if kernelDev(40) != unix.Mkdev(0, 40) || kernelDev(8<<20|1) != unix.Mkdev(8, 1) {
		t.Error("kernelDev")
	}
}

// TestFuseLayersFromMountinfo resolves the upper directory from a fake
// /proc whose mountinfo lists a fuse-overlayfs mount at DIR/merged.
func TestFuseLayersFromMountinfo(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"proc/self", "c/merged", "c/diff/bin"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "c/diff/bin/dropped"), nil, 0o755)
	mi := "46 45 0:77 / " + root + "/c/merged rw - fuse.fuse-overlayfs fuse-overlayfs rw\n"
	os.WriteFile(filepath.Join(root, "proc/self/mountinfo"), []byte(mi), 0o644)
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "c/merged"), &st); err != nil {
		t.Fatal(err)
	}
	f := newFuseLayers(filepath.Join(root, "proc"))
	dev := unix.Mkdev(0, 77)
	if up, known := f.inUpper(dev, "/bin/dropped"); !up || !known {
		t.Errorf("dropped: upper=%v known=%v", up, known)
	}
	if up, known := f.inUpper(dev, "/bin/sh"); up || !known {
		t.Errorf("image file: upper=%v known=%v", up, known)
	}
	if _, known := f.inUpper(unix.Mkdev(0, 78), "/x"); known {
		t.Error("unknown device resolved")
	}
}

func TestNameWatches(t *testing.T) {
	ws := []Watch{{Name: "release_agent", Write: true}, {Name: "id_rsa", Read: true}, {Prefix: "/etc/", Write: true}}
	if !matchWatches(ws, "/tmp/cgrp/release_agent", true) || matchWatches(ws, "/tmp/cgrp/release_agent", false) ||
		matchWatches(ws, "/tmp/cgrp/release_agent.bak", true) || !matchWatches(ws, "/home/u/.ssh/id_rsa", false) {
		t.Error("name watch")
	}
	for _, w := range []Watch{
		{Name: "a/b", Write: true}, {Name: "x"}, {Name: "x", Prefix: "/x", Write: true},
		{Name: strings.Repeat("n", 40), Write: true}, {Name: "..", Write: true},
	} {
		if w.validate() == nil {
			t.Errorf("%+v accepted", w)
		}
	}
}
