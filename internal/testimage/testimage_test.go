package testimage

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockFileExcludes(t *testing.T) {
	name := "selftest-" + filepath.Base(t.TempDir())
	t.Cleanup(func() { os.Remove(filepath.Join(os.TempDir(), "picket-testimage-"+name+".lock")) })
	unlock, err := lockFile(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second open in the same
	// process is excluded like another process would be.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if u2, err := lockFile(ctx, name); err == nil {
		u2()
		t.Fatal("second lockFile succeeded while the first was held")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lockFile: %v, want a deadline error", err)
	}
	unlock()
	u3, err := lockFile(context.Background(), name)
	if err != nil {
		t.Fatalf("lockFile after unlock: %v", err)
	}
	u3()
}

func TestBookworm(t *testing.T) {
	img := RequireBookworm(t)
	if img.Ref != BookwormRepo+":"+BookwormVersion || !strings.HasPrefix(img.ID, "sha256:") {
		t.Fatalf("image = %+v", img)
	}
	if got := inspect(t, img.Ref, `{{index .Config.Labels "`+VersionLabel+`"}}`); got != BookwormVersion {
		t.Errorf("label %s = %q, want %q", VersionLabel, got, BookwormVersion)
	}

	pkgs, err := img.DpkgPackages()
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 100 {
		t.Errorf("only %d dpkg packages", len(pkgs))
	}
	for _, want := range append([]string{"base-files", "dpkg", "python3", "nodejs"}, BookwormIncludes...) {
		if pkgs[want] == "" {
			t.Errorf("package %s missing from the dpkg database", want)
		}
	}
	list, err := img.DpkgList()
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, p := range list {
		sources[p.Name] = p.Source
	}
	// Binary packages whose source package has another name.
	for bin, src := range map[string]string{"python3-requests": "requests", "liblog4j2-java": "apache-log4j2"} {
		if sources[bin] != src {
			t.Errorf("source of %s = %q, want %q", bin, sources[bin], src)
		}
	}
	t.Logf("%s: %d dpkg packages", img.Ref, len(pkgs))

	for _, f := range []string{
		"usr/share/nodejs/lodash/package.json",
		"usr/lib/python3/dist-packages/requests",
		"usr/share/java/log4j-core.jar",
	} {
		if !exists(filepath.Join(img.RootFS, f)) {
			t.Errorf("%s missing from the root filesystem", f)
		}
	}
	for _, f := range []string{"var/cache/apt/pkgcache.bin", "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease"} {
		if exists(filepath.Join(img.RootFS, f)) {
			t.Errorf("%s left in the root filesystem", f)
		}
	}
	if debs, _ := filepath.Glob(filepath.Join(img.RootFS, "var/cache/apt/archives/*.deb")); len(debs) > 0 {
		t.Errorf("%d .deb files left in /var/cache/apt/archives", len(debs))
	}

	bi, err := img.GoBuildInfo()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range bi.Deps {
		found = found || d.Path == "golang.org/x/sync"
	}
	if !found {
		t.Errorf("build info of %s lists no golang.org/x/sync: %v", GoBinaryPath, bi.Deps)
	}
	for _, s := range bi.Settings {
		if s.Key == "-trimpath" && s.Value != "true" || s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Errorf("build setting %s=%s", s.Key, s.Value)
		}
	}

	// The image holds the same files: run the Go binary in it.
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", img.Ref, "picket-testbin").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "picket-testbin [0 1 4 9]") {
		t.Errorf("docker run %s picket-testbin: %v\n%s", img.Ref, err, out)
	}
}

// TestBookwormReuse checks that a second build, bypassing the in-process
// memo, reuses the image and the directory instead of building them again.
func TestBookwormReuse(t *testing.T) {
	img := RequireBookworm(t)
	p := newBookwormPaths()
	before, err := os.Stat(p.complete)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again, err := buildBookworm(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warm build: %s", time.Since(start))
	if again != img {
		t.Errorf("second build = %+v, want %+v", again, img)
	}
	after, err := os.Stat(p.complete)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("the root filesystem was built again")
	}
}

func TestBusybox(t *testing.T) {
	img := RequireBusybox(t)
	if img.Ref != BusyboxRepo+":"+BusyboxVersion || !strings.HasPrefix(img.ID, "sha256:") || img.RootFS != "" {
		t.Fatalf("image = %+v", img)
	}
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", img.Ref,
		"sh", "-c", "echo hello; ls /bin/ls; test -k /tmp && echo sticky; id -u").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	if got, want := string(out), "hello\n/bin/ls\nsticky\n0\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}

	path, err := img.SaveArchive(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	readTarJSON(t, path, "manifest.json", &manifest)
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != img.Ref {
		t.Fatalf("manifest.json = %+v, want one image tagged %s", manifest, img.Ref)
	}
	if hex := strings.TrimPrefix(img.ID, "sha256:"); !strings.Contains(manifest[0].Config, hex) {
		t.Errorf("config %s is not image %s", manifest[0].Config, img.ID)
	}
}

// TestNotImportedByNonTestCode keeps the test-support packages (this one,
// the registry starter and the analyzers' test helpers) out of Picket's
// binaries: only _test.go files and other test-support packages may import
// them.
func TestNotImportedByNonTestCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	const mod = "github.com/picket-cdr/picket/internal/"
	support := []string{
		mod + "testimage", mod + "testregistry", mod + "layer/layertest",
		mod + "analyzer/analyzertest", mod + "analyzer/contenttest", mod + "analyzer/yara/malwaretest",
	}
	isSupport := func(pkg string) bool {
		for _, s := range support {
			if pkg == s || strings.HasPrefix(pkg, s+"/") {
				return true
			}
		}
		return false
	}
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"github.com/picket-cdr/picket/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || isSupport(f[0]) {
			continue
		}
		for _, imp := range f[1:] {
			if isSupport(imp) {
				t.Errorf("%s imports %s in non-test code; only _test.go files may", f[0], imp)
			}
		}
	}
}

func inspect(t *testing.T, ref, format string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", format, ref).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

func readTarJSON(t *testing.T, path, name string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no %s", path, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			if err := json.NewDecoder(tr).Decode(v); err != nil {
				t.Fatalf("%s in %s: %v", name, path, err)
			}
			return
		}
	}
}
