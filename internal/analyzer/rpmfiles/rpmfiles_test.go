package rpmfiles

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

// rpmdbTestdata finds go-rpmdb's real RPM databases (from CentOS and
// Fedora images) in the module cache.
func rpmdbTestdata(t testing.TB) string {
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/erikvarga/go-rpmdb").Output()
	if err != nil {
		t.Skipf("go-rpmdb module not available: %v", err)
	}
	var m struct{ Dir string }
	if json.Unmarshal(out, &m) != nil || m.Dir == "" {
		t.Skip("go-rpmdb module directory unknown (module cache empty?)")
	}
	return filepath.Join(m.Dir, "pkg", "testdata")
}

func TestOwnership(t *testing.T) {
	td := rpmdbTestdata(t)
	tests := []struct {
		file, path, owned, owner string
	}{
		{"fedora35-plus-mongo/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite", "/usr/bin/bash", "rpm:bash"},
		{"centos7-plain/Packages", "/var/lib/rpm/Packages", "/usr/bin/bash", "rpm:bash"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join(td, tt.file))
		if err != nil {
			t.Skipf("%s: %v", tt.file, err)
		}
		res := analyzertest.Run(t, rpmFiles{}, tt.path, b)
		owners := map[string]string{}
		for _, o := range res.Owned {
			for _, p := range o.Paths {
				owners[p] = o.Owner
			}
		}
		if owners[tt.owned] != tt.owner {
			t.Errorf("%s: %s owned by %q, want %q (%d packages)", tt.file, tt.owned, owners[tt.owned], tt.owner, len(res.Owned))
		}
	}
}

func TestCorrupt(t *testing.T) {
	in := analyzertest.Input("/var/lib/rpm/rpmdb.sqlite", []byte("SQLite format 3\x00 but not really"), 0o644)
	if _, err := (rpmFiles{}).Analyze(t.Context(), in); err == nil {
		t.Error("corrupt rpmdb accepted")
	}
}
