package testregistry

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Package is the Debian package that provides the registry binary.
const Package = "docker-registry"

var (
	installOnce sync.Once
	installErr  error
)

// binary returns the registry binary, installing Package when it is missing.
// It skips the test when there is none and it cannot be installed.
func binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("testregistry: $%s: %v", BinaryEnv, err)
		}
		return p
	}
	if p, ok := lookup(); ok {
		return p
	}
	if testing.Short() {
		t.Skipf("testregistry: %s is not installed (not installing it in -short mode)", Package)
	}
	installOnce.Do(func() { installErr = install(t.Logf) })
	if installErr != nil {
		t.Skipf("testregistry: no registry binary: %v", installErr)
	}
	p, ok := lookup()
	if !ok {
		t.Skipf("testregistry: %s installed but no docker-registry binary found", Package)
	}
	return p
}

func lookup() (string, bool) {
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p, true
	}
	const deb = "/usr/bin/docker-registry"
	if st, err := os.Stat(deb); err == nil && st.Mode().IsRegular() {
		return deb, true
	}
	return "", false
}

// install installs Package with apt-get, refreshing the package lists once
// if the first attempt fails, and makes sure the package's own service is not
// left running. Parallel test processes take turns on a lock file.
func install(logf func(string, ...any)) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is not installed and installing it needs root (euid %d)", Package, os.Geteuid())
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%s is not installed and apt-get is not available", Package)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	unlock, err := lockFile(ctx, "install")
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := lookup(); ok {
		return nil // another test process installed it meanwhile
	}
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	args := []string{"install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", Package}
	logf("testregistry: apt-get install %s", Package)
	if err := run(ctx, env, "apt-get", args...); err != nil {
		if uerr := run(ctx, env, "apt-get", "update"); uerr != nil {
			return fmt.Errorf("apt-get install: %v; apt-get update: %v", err, uerr)
		}
		if err := run(ctx, env, "apt-get", args...); err != nil {
			return fmt.Errorf("apt-get install: %v", err)
		}
	}
	stopService(ctx, logf)
	return nil
}

// stopService stops and disables the registry service the package may have
// started (on :5000, with /var/lib/docker-registry): the tests start their
// own registries and should leave nothing running. Docker-style images
// forbid service starts (policy-rc.d) and have no systemd, so this is usually
// a no-op.
func stopService(ctx context.Context, logf func(string, ...any)) {
	const unit = "docker-registry.service"
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		if run(ctx, nil, "systemctl", "is-active", "--quiet", unit) == nil {
			logf("testregistry: stopping and disabling %s started by the package", unit)
			if err := run(ctx, nil, "systemctl", "disable", "--now", unit); err != nil {
				logf("testregistry: %v", err)
			}
		}
		return
	}
	if _, err := exec.LookPath("service"); err == nil && run(ctx, nil, "service", "docker-registry", "status") == nil {
		logf("testregistry: stopping the docker-registry service started by the package")
		if err := run(ctx, nil, "service", "docker-registry", "stop"); err != nil {
			logf("testregistry: %v", err)
		}
		if err := run(ctx, nil, "update-rc.d", "docker-registry", "disable"); err != nil {
			logf("testregistry: %v", err)
		}
	}
}
