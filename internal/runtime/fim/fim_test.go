package fim

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, ch <-chan *event.Event) *event.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no file integrity event within 5s")
	}
	return nil
}

func TestMonitor(t *testing.T) {
	bin := t.TempDir()
	tree := t.TempDir()
	runc := filepath.Join(bin, "runc")
	write(t, runc, "runc v1")
	write(t, filepath.Join(bin, "unrelated"), "x")
	write(t, filepath.Join(tree, "daemon.json"), "{}")
	m, err := New(Options{Files: []string{runc}, Dirs: []string{tree}})
	if err != nil {
		t.Fatal(err)
	}
	h0, ok := m.Hash(runc)
	if !ok || h0 != "8fbcc4dfd7e1a9f2aaf44a3f8b5da15c7e0ed2c6dfbf14d9ab5a8a5c1e1a0e3b" && len(h0) != 64 {
		t.Fatalf("hash %q", h0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan *event.Event, 16)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ch) }()
	time.Sleep(100 * time.Millisecond) // watches in place

	expect := func(path, change string) *event.Event {
		t.Helper()
		t.Logf("waiting for %s %s", path, change)
		ev := next(t, ch)
		if ev.Kind != event.FileHash || ev.File.Path != path || ev.Integrity.Change != change || !ev.Container.Host {
			t.Fatalf("event %+v %+v %+v, want %s %s", ev, ev.File, ev.Integrity, path, change)
		}
		return ev
	}

	write(t, runc, "runc v2 trojan")
	ev := expect(runc, "modified")
	if ev.Integrity.OldSHA256 != h0 || ev.Integrity.NewSHA256 == h0 || len(ev.Integrity.NewSHA256) != 64 {
		t.Errorf("hashes %+v", ev.Integrity)
	}
	// Unwatched files in the same directory are ignored.
	write(t, filepath.Join(bin, "unrelated"), "y")
	// Replaced by rename, as package managers and attackers do.
	tmp := filepath.Join(bin, ".runc.new")
	write(t, tmp, "runc v3")
	if err := os.Rename(tmp, runc); err != nil {
		t.Fatal(err)
	}
	expect(runc, "modified")
	if err := os.Chmod(runc, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	expect(runc, "mode")
	if err := os.Remove(runc); err != nil {
		t.Fatal(err)
	}
	expect(runc, "deleted")
	write(t, runc, "back")
	expect(runc, "created")

	// Directory trees: changes, new files, new sub-directories.
	write(t, filepath.Join(tree, "daemon.json"), `{"insecure-registries":["evil"]}`)
	expect(filepath.Join(tree, "daemon.json"), "modified")
	write(t, filepath.Join(tree, "new.conf"), "x")
	expect(filepath.Join(tree, "new.conf"), "created")
	sub := filepath.Join(tree, "certs.d")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	write(t, filepath.Join(sub, "ca.crt"), "x")
	expect(filepath.Join(sub, "ca.crt"), "created")

	select {
	case ev := <-ch:
		t.Errorf("unexpected event %+v %+v", ev.File, ev.Integrity)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
	if st := m.Stats(); st.Events[event.FileHash] != 8 {
		t.Errorf("stats %+v", st)
	}
}

func TestRescanCatchesMissedChanges(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "containerd")
	write(t, f, "a")
	m, err := New(Options{Files: []string{f}, Rescan: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Changed before Run: only the rescan can see it.
	write(t, f, "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan *event.Event, 4)
	go m.Run(ctx, ch)
	if ev := next(t, ch); ev.Integrity.Change != "modified" {
		t.Errorf("%+v", ev.Integrity)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{Files: []string{"/nonexistent/runc"}}); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := New(Options{Files: []string{}, Dirs: []string{"/nonexistent"}}); err == nil {
		t.Error("missing dir accepted")
	}
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		write(t, filepath.Join(dir, string(rune('a'+i))), "x")
	}
	if _, err := New(Options{Files: []string{}, Dirs: []string{dir}, MaxFiles: 3}); err == nil {
		t.Error("tree over MaxFiles accepted")
	}
}

func TestFindRuntimeBinaries(t *testing.T) {
	bins := FindRuntimeBinaries()
	if _, err := os.Stat("/usr/bin/dockerd"); err == nil && len(bins) == 0 {
		t.Error("dockerd installed but not found")
	}
	for _, b := range bins {
		if !filepath.IsAbs(b) {
			t.Errorf("%s not absolute", b)
		}
	}
	t.Logf("runtime binaries: %v", bins)
}
