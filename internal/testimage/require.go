package testimage

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildTimeout bounds one Require call: a cold bookworm build (debootstrap
// from the network) takes about a minute and a half.
const buildTimeout = 15 * time.Minute

// RequireBookworm returns the Bookworm image. It skips the test in -short
// mode and when Docker, root, debootstrap or the go tool is unavailable, and
// fails it on any other error.
func RequireBookworm(t testing.TB) Image {
	t.Helper()
	return require(t, "bookworm", Bookworm)
}

// RequireBusybox returns the Busybox image. It skips the test in -short mode
// and when Docker or busybox-static is unavailable, and fails it on any other
// error.
func RequireBusybox(t testing.TB) Image {
	t.Helper()
	return require(t, "busybox", Busybox)
}

func require(t testing.TB, name string, build func(context.Context) (Image, error)) Image {
	t.Helper()
	if testing.Short() {
		t.Skipf("testimage: skipping in -short mode: needs the %s test image (Docker)", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	img, err := build(WithLog(ctx, t.Logf))
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("testimage: cannot build the %s test image: %v", name, err)
	}
	if err != nil {
		t.Fatalf("testimage: %s test image: %v", name, err)
	}
	return img
}

// Gunzip decompresses a gzip file (a shared `docker save` archive, say)
// into the test's temporary directory and returns the new file's path:
// go-containerregistry's tarball reader reads an archive several times and
// cannot gunzip.
func Gunzip(t testing.TB, src string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	dst := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".gz"))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		t.Fatalf("%s: %v", src, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
