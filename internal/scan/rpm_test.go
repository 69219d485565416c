package scan

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/inventory"
)

// TestRPMOwnership scans a root filesystem holding a real Fedora 35 RPM
// database (from go-rpmdb's test data) and a Python package whose metadata
// the database says an rpm installed: the RPM packages are inventoried and
// the Python package is marked as owned by its rpm.
func TestRPMOwnership(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/erikvarga/go-rpmdb").Output()
	var m struct{ Dir string }
	if err != nil || json.Unmarshal(out, &m) != nil || m.Dir == "" {
		t.Skipf("go-rpmdb module not in the module cache: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(m.Dir, "pkg", "testdata", "fedora35-plus-mongo", "rpmdb.sqlite"))
	if err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/lib/rpm"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"), db, 0o644)
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=fedora\nVERSION_ID=35\n"), 0o644)
	// Fedora 35's python3-libcomps installs this egg-info.
	meta := "/usr/lib64/python3.10/site-packages/libcomps-0.1.18-py3.10.egg-info/PKG-INFO"
	os.MkdirAll(filepath.Join(root, filepath.Dir(meta)), 0o755)
	os.WriteFile(filepath.Join(root, meta), []byte("Metadata-Version: 1.1\nName: libcomps\nVersion: 0.1.18\n"), 0o644)

	rep, err := New().Scan(context.Background(), "rootfs:"+root, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rpms := 0
	var pip *inventory.Package
	for _, p := range rep.Packages {
		switch {
		case p.Ecosystem == inventory.RPM:
			rpms++
		case p.Ecosystem == inventory.PyPI && p.Name == "libcomps":
			pip = p
		}
	}
	if rpms < 100 {
		t.Errorf("%d rpm packages", rpms)
	}
	if pip == nil || pip.OwnedBy != "rpm:python3-libcomps" {
		t.Fatalf("libcomps: %+v", pip)
	}
}
