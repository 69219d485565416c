package testimage

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The busybox image. Bump BusyboxVersion whenever the recipe changes.
const (
	BusyboxRepo    = "picket-test/busybox"
	BusyboxVersion = "1"
)

// Busybox returns the image picket-test/busybox:BusyboxVersion, built with
// `docker build` from a generated Dockerfile:
//
//	FROM scratch
//	COPY rootfs/ /
//
// where rootfs holds the host's static /bin/busybox (Debian package
// busybox-static, installed with apt-get when missing), a symlink in /bin for
// every applet it lists (sh, ls, cat, ...), /etc/passwd, /etc/group, /root
// and /tmp. Its command is /bin/sh. An existing image is reused. Image.RootFS
// is empty.
func Busybox(ctx context.Context) (Image, error) {
	return once(ctx, "busybox", buildBusybox)
}

func buildBusybox(ctx context.Context) (Image, error) {
	if err := needDocker(); err != nil {
		return Image{}, err
	}
	unlock, err := lockFile(ctx, "busybox-"+BusyboxVersion)
	if err != nil {
		return Image{}, err
	}
	defer unlock()

	ref := BusyboxRepo + ":" + BusyboxVersion
	id, err := imageID(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	if id != "" {
		return Image{Ref: ref, ID: id}, nil
	}

	start := time.Now()
	bin, err := staticBusybox(ctx)
	if err != nil {
		return Image{}, err
	}
	out, err := run(ctx, runOpts{}, bin, "--list")
	if err != nil {
		return Image{}, err
	}
	applets := strings.Fields(string(out))
	if len(applets) < 10 {
		return Image{}, fmt.Errorf("testimage: %s --list printed only %d applets", bin, len(applets))
	}

	dir, err := os.MkdirTemp("", "picket-testimage-busybox-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(dir)
	if err := writeBusyboxContext(dir, bin, applets); err != nil {
		return Image{}, err
	}
	// The classic builder needs nothing but the daemon for FROM scratch.
	if _, err := run(ctx, runOpts{env: []string{"DOCKER_BUILDKIT=0"}, combined: true},
		"docker", "build", "-q", "-t", ref, dir); err != nil {
		return Image{}, err
	}
	id, err = imageID(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	if id == "" {
		return Image{}, fmt.Errorf("testimage: docker build succeeded but %s is missing", ref)
	}
	logf(ctx, "testimage: built %s (%d applets) in %s", ref, len(applets), time.Since(start).Round(time.Millisecond))
	return Image{Ref: ref, ID: id}, nil
}

func writeBusyboxContext(dir, bin string, applets []string) error {
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		return err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "busybox" || strings.ContainsAny(a, `/\`) || a == "." || a == ".." {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
		"Dockerfile": "FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\n" +
			"LABEL " + VersionLabel + "=" + BusyboxVersion + "\nCMD [\"/bin/sh\"]\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if name == "Dockerfile" {
			p = filepath.Join(dir, name)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// staticBusybox returns the path of the busybox binary of the host's
// busybox-static package, installing the package when missing.
func staticBusybox(ctx context.Context) (string, error) {
	if !debInstalled(ctx, "busybox-static") {
		if err := aptInstall(ctx, "busybox-static"); err != nil {
			return "", err
		}
	}
	out, err := run(ctx, runOpts{}, "dpkg-query", "-L", "busybox-static")
	if err != nil {
		return "", err
	}
	var bin string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, "/bin/busybox") {
			bin = line
			break
		}
	}
	if bin == "" {
		return "", fmt.Errorf("testimage: package busybox-static has no .../bin/busybox")
	}
	if err := checkStatic(bin); err != nil {
		return "", err
	}
	return bin, nil
}

// debInstalled reports whether a Debian package is installed on the host.
func debInstalled(ctx context.Context, pkg string) bool {
	out, err := run(ctx, runOpts{}, "dpkg-query", "-W", "-f", "${db:Status-Status}", pkg)
	return err == nil && bytes.Equal(bytes.TrimSpace(out), []byte("installed"))
}

// checkStatic makes sure bin needs no dynamic loader, as nothing else is in a
// FROM scratch image.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("testimage: %s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("testimage: %s is dynamically linked (has PT_INTERP)", bin)
		}
	}
	return nil
}
