//go:build linux

package fanotify

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

func meta(mask uint64, fd, pid int32, extra int) []byte {
	b := make([]byte, metaLen+extra)
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	b[4] = unix.FANOTIFY_METADATA_VERSION
	binary.NativeEndian.PutUint16(b[6:], metaLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func TestParseEvents(t *testing.T) {
	b := append(meta(unix.FAN_OPEN, 5, 100, 0), meta(unix.FAN_CLOSE_WRITE, 6, 101, 16)...)
	got, err := ParseEvents(b)
	if err != nil || len(got) != 2 || got[0] != (Meta{Mask: unix.FAN_OPEN, FD: 5, PID: 100}) || got[1].PID != 101 {
		t.Fatalf("%+v %v", got, err)
	}
	bad := map[string][]byte{
		"short":   meta(unix.FAN_OPEN, 1, 1, 0)[:10],
		"version": func() []byte { m := meta(unix.FAN_OPEN, 1, 1, 0); m[4] = 99; return m }(),
		"length":  func() []byte { m := meta(unix.FAN_OPEN, 1, 1, 0); binary.NativeEndian.PutUint32(m, 4); return m }(),
		"beyond":  func() []byte { m := meta(unix.FAN_OPEN, 1, 1, 0); binary.NativeEndian.PutUint32(m, 400); return m }(),
	}
	for name, b := range bad {
		if _, err := ParseEvents(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(meta(unix.FAN_OPEN, 5, 100, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseEvents(b)
		if err == nil && len(ms)*metaLen > len(b) {
			t.Fatalf("%d events from %d bytes", len(ms), len(b))
		}
	})
}

// TestReadOfWatchedFile marks a file and a directory and checks a read of
// the file and a write in the directory are reported with the process.
func TestReadOfWatchedFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fanotify: needs root (CAP_SYS_ADMIN)")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("k"), 0o600)
	s, err := New([]Watch{{Path: key, Read: true}, {Path: dir + "/", Write: true}, {Path: "/nonexistent/", Write: true}})
	if errors.Is(err, ErrUnsupported) {
		t.Skip("fanotify: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Hooks()) != 2 {
		t.Errorf("hooks = %v", s.Hooks())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan *event.Event, 64)
	go s.Run(ctx, out)
	time.Sleep(100 * time.Millisecond)
	cat := exec.Command("/bin/cat", key)
	if err := cat.Run(); err != nil {
		t.Fatal(err)
	}
	exec.Command("/bin/sh", "-c", "echo x > "+filepath.Join(dir, "new")).Run()
	var read, wrote bool
	for !read || !wrote {
		select {
		case e := <-out:
			if e.File.Path == key && !e.File.Write && e.Proc.PID == uint32(cat.Process.Pid) {
				read = true
			}
			if e.File.Path == filepath.Join(dir, "new") && e.File.Write {
				wrote = true
			}
		case <-ctx.Done():
			t.Fatalf("read seen %v, write seen %v", read, wrote)
		}
	}
	if st := s.Stats(); st.Events[event.Open] < 2 {
		t.Errorf("stats %+v", st)
	}
}
