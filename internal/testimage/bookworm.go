package testimage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// The bookworm-apps image. Bump BookwormVersion whenever the recipe
// (packages, Go program, import options) changes: the tag and the cache
// directory are named after it, so the old ones are simply not used again.
const (
	BookwormRepo    = "picket-test/bookworm-apps"
	BookwormVersion = "1"
)

// BookwormIncludes are the packages debootstrap adds to the minbase variant:
// a Python package (dist-packages egg-info), a Node package
// (/usr/share/nodejs/lodash/package.json) and Java archives (log4j 2).
var BookwormIncludes = []string{"python3-requests", "node-lodash", "liblog4j2-java"}

// Bookworm returns the image picket-test/bookworm-apps:BookwormVersion: a
// Debian bookworm root filesystem made by
//
//	debootstrap --variant=minbase --include=python3-requests,node-lodash,liblog4j2-java bookworm DIR MIRROR
//
// (MIRROR from DebianMirror) and cleaned like Debian's official images (no
// .deb files in /var/cache/apt/archives, no apt lists), plus a Go program
// built from testdata/gobin with -trimpath at GoBinaryPath, imported with
// `tar -C DIR -c . | docker import`. The root filesystem is kept at
// CacheDir()/bookworm-VERSION/rootfs and returned as Image.RootFS.
//
// An image and directory built earlier are reused; a missing image is
// re-imported from the directory; a missing directory rebuilds both.
// Builders in concurrent processes are serialised with a file lock.
// Building needs root, the Docker daemon, the go tool and debootstrap (which
// is installed with apt-get when missing); their absence is reported as an
// error wrapping ErrUnavailable. A cold build takes about a minute (mostly
// debootstrap downloading); a warm call well under a second.
func Bookworm(ctx context.Context) (Image, error) {
	return once(ctx, "bookworm", buildBookworm)
}

// bookwormPaths are the cache files of one recipe version.
type bookwormPaths struct {
	base     string // CacheDir()/bookworm-VERSION
	rootfs   string // base/rootfs: the image's files
	complete string // base/complete: exists once rootfs is whole
	imageID  string // base/image-id: the ID of the image imported from rootfs
}

func newBookwormPaths() bookwormPaths {
	base := filepath.Join(CacheDir(), "bookworm-"+BookwormVersion)
	return bookwormPaths{
		base:     base,
		rootfs:   filepath.Join(base, "rootfs"),
		complete: filepath.Join(base, "complete"),
		imageID:  filepath.Join(base, "image-id"),
	}
}

func buildBookworm(ctx context.Context) (Image, error) {
	if err := needDocker(); err != nil {
		return Image{}, err
	}
	unlock, err := lockFile(ctx, "bookworm-"+BookwormVersion)
	if err != nil {
		return Image{}, err
	}
	defer unlock()

	ref := BookwormRepo + ":" + BookwormVersion
	p := newBookwormPaths()
	img := Image{Ref: ref, RootFS: p.rootfs}

	if exists(p.complete) {
		id, err := imageID(ctx, ref)
		if err != nil {
			return Image{}, err
		}
		recorded, _ := os.ReadFile(p.imageID)
		if id != "" && id == strings.TrimSpace(string(recorded)) {
			img.ID = id
			return img, nil
		}
		// The tag is missing, or is not the image made from this directory.
		if err := needRoot("importing " + p.rootfs); err != nil {
			return Image{}, err
		}
		if img.ID, err = importBookworm(ctx, p, ref); err != nil {
			return Image{}, err
		}
		return img, nil
	}

	if err := makeBookwormRootFS(ctx, p); err != nil {
		return Image{}, err
	}
	if img.ID, err = importBookworm(ctx, p, ref); err != nil {
		return Image{}, err
	}
	return img, nil
}

// makeBookwormRootFS (re)creates p.rootfs from nothing and marks it complete.
func makeBookwormRootFS(ctx context.Context, p bookwormPaths) error {
	if err := needRoot("debootstrap"); err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("%w: go tool not found in PATH (needed to build %s)", ErrUnavailable, GoBinaryPath)
	}
	src, err := goBinarySource(ctx, goTool)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := aptInstall(ctx, "debootstrap"); err != nil {
			return err
		}
	}
	mirror, err := DebianMirror("bookworm")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}

	if err := removeTree(ctx, p.base); err != nil {
		return err
	}
	if err := os.MkdirAll(p.base, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(p.base, "rootfs.partial")

	start := time.Now()
	logf(ctx, "testimage: debootstrap bookworm from %s into %s", mirror, tmp)
	_, err = run(ctx, runOpts{combined: true}, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(BookwormIncludes, ","), "bookworm", tmp, mirror)
	if err != nil {
		if log, lerr := os.ReadFile(filepath.Join(tmp, "debootstrap", "debootstrap.log")); lerr == nil {
			err = fmt.Errorf("%w\ndebootstrap.log:\n%s", err, tail(log, 4096))
		}
		return err
	}
	logf(ctx, "testimage: debootstrap took %s", time.Since(start).Round(time.Millisecond))
	if err := aptClean(tmp); err != nil {
		return err
	}

	start = time.Now()
	bin := filepath.Join(tmp, GoBinaryPath)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	_, err = run(ctx, runOpts{dir: src, env: []string{"CGO_ENABLED=0"}, combined: true},
		goTool, "build", "-trimpath", "-o", bin, ".")
	if err != nil {
		return err
	}
	logf(ctx, "testimage: go build of %s took %s", GoBinaryPath, time.Since(start).Round(time.Millisecond))

	if err := os.Rename(tmp, p.rootfs); err != nil {
		return err
	}
	return os.WriteFile(p.complete, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// aptClean removes what Debian's official images do not ship either: the
// downloaded .deb files (which some scanners would report as packages a second
// time), apt's binary caches and package lists.
func aptClean(root string) error {
	for _, pat := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"} {
		matches, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if filepath.Base(m) == "partial" || filepath.Base(m) == "lock" {
				continue
			}
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// importBookworm imports p.rootfs as ref and records the image's ID.
func importBookworm(ctx context.Context, p bookwormPaths, ref string) (string, error) {
	start := time.Now()
	os.Remove(p.imageID)
	id, err := importDir(ctx, p.rootfs, ref,
		"LABEL "+VersionLabel+"="+BookwormVersion,
		`CMD ["/bin/bash"]`)
	if err != nil {
		return "", err
	}
	logf(ctx, "testimage: docker import of %s took %s", ref, time.Since(start).Round(time.Millisecond))
	return id, os.WriteFile(p.imageID, []byte(id+"\n"), 0o644)
}

// importDir runs `tar -C dir -c . | docker import --change ... - ref` and
// returns the new image's ID.
func importDir(ctx context.Context, dir, ref string, changes ...string) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	var tarErr strings.Builder
	tarCmd.Stderr = &tarErr
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	args = append(args, "-", ref)
	imp := exec.CommandContext(ctx, "docker", args...)
	imp.Stdin = pipe
	var impOut, impErr strings.Builder
	imp.Stdout = &impOut
	imp.Stderr = &impErr

	if err := tarCmd.Start(); err != nil {
		return "", fmt.Errorf("testimage: tar: %w", err)
	}
	if err := imp.Start(); err != nil {
		cancel()
		tarCmd.Wait()
		return "", fmt.Errorf("testimage: docker import: %w", err)
	}
	ierr := imp.Wait()
	if ierr != nil {
		cancel() // do not leave tar blocked on a pipe nobody reads
	}
	terr := tarCmd.Wait()
	if err := errors.Join(ierr, terr); err != nil {
		return "", fmt.Errorf("testimage: tar -C %s -c . | docker %s: %w\n%s\n%s", dir,
			strings.Join(args, " "), err, tail([]byte(tarErr.String()), 2048), tail([]byte(impErr.String()), 2048))
	}
	id := strings.TrimSpace(impOut.String())
	got, err := imageID(ctx, ref)
	if err != nil {
		return "", err
	}
	if got == "" || (id != "" && got != id) {
		return "", fmt.Errorf("testimage: docker import printed %q but %s is %q", id, ref, got)
	}
	return got, nil
}

// goBinarySource finds testdata/gobin: beside this source file when the
// package was built with full paths, otherwise inside the main module of the
// working directory (tests run in their package's directory, which is inside
// the module).
func goBinarySource(ctx context.Context, goTool string) (string, error) {
	const rel = "internal/testimage/testdata/gobin"
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Join(filepath.Dir(file), "testdata", "gobin")
		if exists(filepath.Join(d, "main.go")) {
			return d, nil
		}
	}
	out, err := run(ctx, runOpts{}, goTool, "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("%w: cannot find %s: the working directory is not inside the picket module", ErrUnavailable, rel)
	}
	d := filepath.Join(filepath.Dir(gomod), filepath.FromSlash(rel))
	if !exists(filepath.Join(d, "main.go")) {
		return "", fmt.Errorf("testimage: %s/main.go not found in module %s", rel, filepath.Dir(gomod))
	}
	return d, nil
}

// removeTree deletes dir after unmounting anything still mounted below it
// (an interrupted debootstrap leaves proc and sys mounted in its target).
func removeTree(ctx context.Context, dir string) error {
	f, err := os.Open("/proc/self/mounts")
	if err == nil {
		var mounts []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			mp := unescapeMount(fields[1])
			if strings.HasPrefix(mp, dir+string(filepath.Separator)) {
				mounts = append(mounts, mp)
			}
		}
		f.Close()
		// Deepest first.
		sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
		for _, mp := range mounts {
			if _, err := run(ctx, runOpts{combined: true}, "umount", "-l", mp); err != nil {
				return fmt.Errorf("testimage: cannot clear %s: %w", dir, err)
			}
		}
	}
	return os.RemoveAll(dir)
}

// unescapeMount undoes the octal escapes (\040 for space ...) of
// /proc/self/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
