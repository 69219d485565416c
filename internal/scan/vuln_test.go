package scan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/match"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// buildOldText builds testdata/oldtext (golang.org/x/text v0.3.5) with the
// go tool, fetching the module through the module proxy.
func buildOldText(t *testing.T, out string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go program with the go tool")
	}
	src := t.TempDir()
	for from, to := range map[string]string{"go.mod.txt": "go.mod", "main.go.txt": "main.go"} {
		b, err := os.ReadFile(filepath.Join("testdata", "oldtext", from))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, to), b, 0o644)
	}
	cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the Go test program (module proxy unreachable?): %v\n%s", err, b)
	}
}

func TestVulnerabilitiesGoAndPyPI(t *testing.T) {
	osvGo, osvPy := shared(t, "data/osv/Go"), shared(t, "data/osv/PyPI")
	dbDir := t.TempDir()
	if _, err := vulndb.Import(dbDir, osvGo, osvPy); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755)
	buildOldText(t, filepath.Join(root, "usr/local/bin/oldtext"))
	meta := filepath.Join(root, "usr/local/lib/python3.11/site-packages/requests-2.19.0.dist-info")
	os.MkdirAll(meta, 0o755)
	os.WriteFile(filepath.Join(meta, "METADATA"), []byte("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n"), 0o644)

	rep, err := New(WithVulnDB(db, 0)).Scan(context.Background(), "rootfs:"+root, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.VulnDB == nil || rep.VulnDB.Status != "ok" || rep.VulnDB.Errors != 0 {
		t.Fatalf("vulndb info %+v", rep.VulnDB)
	}
	ids := func(pkg string) []string {
		var out []string
		for _, f := range rep.Findings {
			if f.Kind == finding.KindVulnerability && f.Attributes[match.AttrPackage] == pkg {
				out = append(out, f.Attributes[match.AttrIDs])
			}
		}
		sort.Strings(out)
		return out
	}
	// golang.org/x/text v0.3.5, from ../shared/data/osv/Go: GO-2020-0015
	// (fixed 0.3.3) does not apply; GO-2021-0113 (fixed 0.3.7), GO-2022-1059
	// (fixed 0.3.8) and GO-2026-5970 (fixed 0.39.0) do.
	want := []string{
		"CVE-2021-38561,GHSA-ppp9-7jff-5vj2,GO-2021-0113",
		"CVE-2022-32149,GHSA-69ch-w2m2-3vjp,GO-2022-1059",
		"CVE-2026-56852,GO-2026-5970",
	}
	if got := ids("golang.org/x/text"); !reflect.DeepEqual(got, want) {
		t.Errorf("x/text:\n got %v\nwant %v", got, want)
	}
	// requests 2.19.0, from ../shared/data/osv/PyPI: PYSEC-2018-28 and
	// PYSEC-2023-74 list it among affected versions; the 2014/2015
	// advisories were fixed in 2.3.0 and 2.6.0.
	wantPy := []string{
		"CVE-2018-18074,GHSA-x84v-xcm2-53pg,PYSEC-2018-28",
		"CVE-2023-32681,GHSA-j8r2-6x86-q33q,PYSEC-2023-74",
	}
	if got := ids("requests"); !reflect.DeepEqual(got, wantPy) {
		t.Errorf("requests:\n got %v\nwant %v", got, wantPy)
	}
	for _, f := range rep.Findings {
		if f.Attributes[match.AttrPackage] == "golang.org/x/text" && f.RuleID == "CVE-2022-32149" {
			if f.Attributes[match.AttrFixed] != "0.3.8" || f.Location.Path != "/usr/local/bin/oldtext" || !strings.HasPrefix(f.Attributes[match.AttrPURL], "pkg:golang/golang.org/x/text@v0.3.5") {
				t.Errorf("finding %+v", f)
			}
		}
	}
}

// TestAlpineImageAgainstSecDB scans the shared alpine:3.10.4 archive
// against the v3.10 secdb. Checked by hand against the secdb: every fix it
// lists for the image's 14 packages' origins (musl 1.1.22-r3, openssl
// 1.1.1d-r0, busybox 1.30.1-r2, ...) is at or below the installed versions,
// so the exact set of findings is empty; internal/match tests the same
// entries with older versions.
func TestAlpineImageAgainstSecDB(t *testing.T) {
	dbDir := t.TempDir()
	if _, err := vulndb.Import(dbDir, shared(t, "data/secdb/alpine/v3.10")); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := New(WithVulnDB(db, 0)).Scan(context.Background(), "docker-archive:"+shared(t, "images/alpine-3.10-docker-save.tar.gz"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.VulnDB.Packages != 14 || rep.VulnDB.Errors != 0 || rep.VulnDB.Unsupported != 0 {
		t.Errorf("vulndb stats %+v", rep.VulnDB)
	}
	for _, f := range rep.Findings {
		if f.Kind == finding.KindVulnerability {
			t.Errorf("unexpected %s in %s %s", f.RuleID, f.Attributes[match.AttrPackage], f.Attributes[match.AttrInstalled])
		}
	}
}
