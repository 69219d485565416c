package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	val := bytes.Repeat([]byte("layer result "), 1000)
	if err := s.Put("sha256:abc|x@1", val); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get("sha256:abc|x@1")
	if err != nil || !ok || !bytes.Equal(got, val) {
		t.Fatalf("Get = %d bytes, %v, %v", len(got), ok, err)
	}
	if !s.Has("sha256:abc|x@1") || s.Has("sha256:abc|x@2") {
		t.Error("Has wrong")
	}
	if _, ok, _ := s.Get("missing"); ok {
		t.Error("missing key found")
	}
	s.Close()
	// Reopen: values persist.
	s, err = Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, _ := s.Get("sha256:abc|x@1"); !ok {
		t.Error("value lost across reopen")
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "layers.db"), []byte("not a bolt database, just garbage bytes"), 0o600)
	if _, err := Open(dir, 0); err == nil {
		t.Fatal("corrupt store opened")
	}
}
