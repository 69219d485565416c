package testimage

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by errors that mean a facility the images need
// (the Docker daemon, root, debootstrap, busybox-static, the go tool) is
// missing on this machine. Tests should skip on it; any other error is a real
// failure.
var ErrUnavailable = errors.New("testimage: unavailable")

// CacheEnv names the environment variable that overrides CacheDir.
const CacheEnv = "PICKET_TESTIMAGE_CACHE"

// GoBinaryPath is where the bookworm image holds the Go test binary built
// from testdata/gobin.
const GoBinaryPath = "/usr/local/bin/picket-testbin"

// VersionLabel is the image label that records the recipe version.
const VersionLabel = "picket.testimage.version"

// Image is a test image present in the local Docker Engine.
type Image struct {
	Ref string // repository:tag, e.g. "picket-test/bookworm-apps:1"
	ID  string // image ID, "sha256:<hex>"
	// RootFS is the directory the image was imported from. It is kept
	// (under CacheDir) for as long as the image is, so tests can compare a
	// scan of the image with the files themselves. Empty for Busybox.
	RootFS string
}

// DpkgPackage is one installed package of an image's dpkg database.
type DpkgPackage struct {
	Name    string // ${Package}
	Version string // ${Version}
	Source  string // ${source:Package}
	Arch    string // ${Architecture}
}

// DpkgList returns the installed packages of the image's dpkg database, as
// the host's dpkg-query reads it:
//
//	dpkg-query --admindir=ROOT/var/lib/dpkg -W -f '${Package}\t${Version}\t${source:Package}\n'
//
// (plus the status and architecture columns; packages whose status is not
// "installed" are left out).
func (img Image) DpkgList() ([]DpkgPackage, error) {
	if img.RootFS == "" {
		return nil, fmt.Errorf("testimage: %s has no root filesystem directory", img.Ref)
	}
	out, err := run(context.Background(), runOpts{}, "dpkg-query",
		"--admindir="+filepath.Join(img.RootFS, "var/lib/dpkg"), "-W",
		"-f", `${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${Architecture}\n`)
	if err != nil {
		return nil, err
	}
	var pkgs []DpkgPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("testimage: unexpected dpkg-query line %q", sc.Text())
		}
		if f[0] != "installed" {
			continue
		}
		pkgs = append(pkgs, DpkgPackage{Name: f[1], Version: f[2], Source: f[3], Arch: f[4]})
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("testimage: no installed packages in %s", img.RootFS)
	}
	return pkgs, sc.Err()
}

// DpkgPackages returns package name -> version for the installed packages of
// the image's dpkg database (see DpkgList).
func (img Image) DpkgPackages() (map[string]string, error) {
	list, err := img.DpkgList()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(list))
	for _, p := range list {
		m[p.Name] = p.Version
	}
	return m, nil
}

// GoBuildInfo reads the build information of the Go binary at GoBinaryPath
// in the image's root filesystem.
func (img Image) GoBuildInfo() (*buildinfo.BuildInfo, error) {
	if img.RootFS == "" {
		return nil, fmt.Errorf("testimage: %s has no root filesystem directory", img.Ref)
	}
	return buildinfo.ReadFile(filepath.Join(img.RootFS, GoBinaryPath))
}

// SaveArchive writes the image with `docker save` to a docker-archive tar
// file in dir (named after Ref, replaced if present) and returns its path.
func (img Image) SaveArchive(ctx context.Context, dir string) (string, error) {
	name := strings.NewReplacer("/", "_", ":", "_").Replace(img.Ref) + ".tar"
	path := filepath.Join(dir, name)
	tmp := path + ".partial"
	if _, err := run(ctx, runOpts{}, "docker", "save", "-o", tmp, img.Ref); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, nil
}

// CacheDir is where root filesystems are kept between runs:
// $PICKET_TESTIMAGE_CACHE, or /var/tmp/picket-testimage.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	return filepath.Join("/var/tmp", "picket-testimage")
}

type logKey struct{}

// WithLog returns a context whose builds report progress (and how long each
// step took) through logf, e.g. t.Logf or log.Printf.
func WithLog(ctx context.Context, logf func(format string, args ...any)) context.Context {
	return context.WithValue(ctx, logKey{}, logf)
}

func logf(ctx context.Context, format string, args ...any) {
	if f, ok := ctx.Value(logKey{}).(func(string, ...any)); ok && f != nil {
		f(format, args...)
	}
}

// once memoises a successful build per process, so that many tests in one
// binary pay for the docker checks once.
type onceEntry struct {
	mu  sync.Mutex
	img *Image
}

var (
	onceMu  sync.Mutex
	onceMap = map[string]*onceEntry{}
)

func once(ctx context.Context, key string, build func(context.Context) (Image, error)) (Image, error) {
	onceMu.Lock()
	e := onceMap[key]
	if e == nil {
		e = &onceEntry{}
		onceMap[key] = e
	}
	onceMu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.img != nil {
		return *e.img, nil
	}
	img, err := build(ctx)
	if err != nil {
		return Image{}, err
	}
	e.img = &img
	return img, nil
}

// runOpts tunes run.
type runOpts struct {
	dir      string
	env      []string // added to the process environment
	combined bool     // return stderr together with stdout
}

// run executes a command and returns its standard output. A failure's error
// names the command and carries the tail of its standard error.
func run(ctx context.Context, o runOpts, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = o.dir
	if len(o.env) > 0 {
		cmd.Env = append(os.Environ(), o.env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if o.combined {
		cmd.Stderr = &stdout
	}
	if err := cmd.Run(); err != nil {
		msg := stderr.Bytes()
		if o.combined {
			msg = stdout.Bytes()
		}
		return stdout.Bytes(), fmt.Errorf("testimage: %s %s: %w\n%s", name, strings.Join(args, " "), err, tail(msg, 4096))
	}
	return stdout.Bytes(), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = append([]byte("..."), b[len(b)-n:]...)
	}
	return strings.TrimSpace(string(b))
}

var (
	dockerOnce sync.Once
	dockerErr  error
)

// needDocker reports (once per process) whether the docker CLI can talk to a
// daemon.
func needDocker() error {
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = fmt.Errorf("%w: docker CLI not found in PATH", ErrUnavailable)
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := run(cctx, runOpts{}, "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
			dockerErr = fmt.Errorf("%w: Docker daemon not reachable: %v", ErrUnavailable, err)
		}
	})
	return dockerErr
}

// imageID returns the ID of a local image, or "" when there is none.
func imageID(ctx context.Context, ref string) (string, error) {
	out, err := run(ctx, runOpts{}, "docker", "image", "inspect", "--format", "{{.Id}}", ref)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "no such image") {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// needRoot reports whether the process may do what only root can.
func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: %s needs root (euid %d)", ErrUnavailable, what, os.Geteuid())
	}
	return nil
}

// aptInstall installs Debian packages with apt-get, refreshing the package
// lists once if the first attempt fails. Not being root, or apt-get failing,
// makes the facility unavailable.
func aptInstall(ctx context.Context, pkgs ...string) error {
	what := "installing " + strings.Join(pkgs, " ")
	if err := needRoot(what); err != nil {
		return err
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%w: %s: apt-get not found", ErrUnavailable, what)
	}
	o := runOpts{env: []string{"DEBIAN_FRONTEND=noninteractive"}, combined: true}
	install := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	logf(ctx, "testimage: apt-get install %s", strings.Join(pkgs, " "))
	_, err := run(ctx, o, "apt-get", install...)
	if err == nil {
		return nil
	}
	if _, uerr := run(ctx, o, "apt-get", "update"); uerr != nil {
		return fmt.Errorf("%w: %s: %v; apt-get update: %v", ErrUnavailable, what, err, uerr)
	}
	if _, err := run(ctx, o, "apt-get", install...); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
