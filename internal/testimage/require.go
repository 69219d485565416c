package testimage

import (
	"context"
	"errors"
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
