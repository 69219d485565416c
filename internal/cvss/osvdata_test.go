package cvss

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// osvSeverity is an OSV severity entry.
type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// TestOSVSharedData parses every CVSS vector in the shared OSV records
// (top-level and per-affected-package severity arrays).
func TestOSVSharedData(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data", "osv")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared test data %s not available: %v", root, err)
	}
	counts := map[string]int{} // "<dir> <version>"
	total := map[Version]int{}
	files := 0
	for _, dir := range []string{"Go", "PyPI", "crates.io"} {
		paths, err := filepath.Glob(filepath.Join(root, dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Severity []osvSeverity `json:"severity"`
				Affected []struct {
					Severity []osvSeverity `json:"severity"`
				} `json:"affected"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			files++
			sevs := rec.Severity
			for _, a := range rec.Affected {
				sevs = append(sevs, a.Severity...)
			}
			for _, sev := range sevs {
				if !strings.HasPrefix(sev.Type, "CVSS_") {
					continue
				}
				s, err := Parse(sev.Score)
				if err != nil {
					t.Errorf("%s: %s: %v", filepath.Base(p), sev.Type, err)
					continue
				}
				if !(s.Base >= 0 && s.Base <= 10) || s.Severity == "" {
					t.Errorf("%s: %s: base %v severity %q", filepath.Base(p), sev.Score, s.Base, s.Severity)
				}
				wantType := map[Version]string{V2: "CVSS_V2", V30: "CVSS_V3", V31: "CVSS_V3", V40: "CVSS_V4"}[s.Version]
				if sev.Type != wantType {
					t.Errorf("%s: %s vector %q is version %s", filepath.Base(p), sev.Type, sev.Score, s.Version)
				}
				counts[dir+" CVSS "+string(s.Version)]++
				total[s.Version]++
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-22s %4d", k, counts[k])
	}
	t.Logf("%d records; vectors: v2.0 %d, v3.0 %d, v3.1 %d, v4.0 %d",
		files, total[V2], total[V30], total[V31], total[V40])
	if files == 0 {
		t.Error("no OSV records found")
	}
}
