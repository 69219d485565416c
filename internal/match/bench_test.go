package match

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/inventory"
)

// packagesFromFeed returns up to n packages named by the shared OSV
// records of an ecosystem, at an old version so that most ranges apply.
func packagesFromFeed(b *testing.B, dir string, eco inventory.Ecosystem, version string, n int) []*inventory.Package {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Skip(err)
	}
	seen := map[string]bool{}
	var out []*inventory.Package
	for _, e := range ents {
		if len(out) >= n {
			break
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		var rec struct {
			Affected []struct{ Package struct{ Name string } }
		}
		if json.Unmarshal(raw, &rec) != nil {
			continue
		}
		for _, a := range rec.Affected {
			if !seen[a.Package.Name] && len(out) < n {
				seen[a.Package.Name] = true
				out = append(out, &inventory.Package{Name: a.Package.Name, Version: version, Ecosystem: eco})
			}
		}
	}
	return out
}

// BenchmarkMatch1000 matches 1,000 packages that all have advisories (500
// Go modules, 500 PyPI projects). Target: under 50 ms per run.
func BenchmarkMatch1000(b *testing.B) {
	db := sharedDB(b)
	pkgs := append(
		packagesFromFeed(b, shared(b, "data/osv/Go"), inventory.Go, "0.0.1", 500),
		packagesFromFeed(b, shared(b, "data/osv/PyPI"), inventory.PyPI, "0.0.1", 500)...)
	if len(pkgs) != 1000 {
		b.Fatalf("%d packages", len(pkgs))
	}
	m := New(db)
	b.ResetTimer()
	var found int
	for i := 0; i < b.N; i++ {
		fs, _, err := m.Match(context.Background(), pkgs, inventory.Distro{}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		found = len(fs)
	}
	b.ReportMetric(float64(found), "findings")
}
