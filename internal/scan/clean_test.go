package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/testimage"
)

// Clean distribution images, scanned with every analyzer, yield no HIGH or
// CRITICAL finding: a false positive there is a bug. (Vulnerabilities are
// not matched here; they are not false positives.)
func TestCleanImagesNoHighFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real images")
	}
	alpine := filepath.Join("..", "..", "..", "shared", "images", "alpine-3.10-docker-save.tar.gz")
	refs := map[string]func(t *testing.T) string{
		"busybox":  func(t *testing.T) string { return "docker-daemon:" + testimage.RequireBusybox(t).Ref },
		"bookworm": func(t *testing.T) string { return "docker-daemon:" + testimage.RequireBookworm(t).Ref },
		"alpine-3.10": func(t *testing.T) string {
			if _, err := os.Stat(alpine); err != nil {
				t.Skipf("shared test data not available: %v", err)
			}
			return "docker-archive:" + alpine
		},
	}
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			rep, err := New().Scan(context.Background(), ref(t), image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[finding.Kind]int{}
			for _, f := range rep.Findings {
				kinds[f.Kind]++
				if f.Severity >= finding.High {
					t.Errorf("%s %s %s at %s: %s", f.Severity, f.Kind, f.RuleID, f.Location.Path, f.Title)
				}
			}
			t.Logf("%d packages, %d findings by kind %v", len(rep.Packages), len(rep.Findings), kinds)
			if rep.Stats.AnalyzerErrors > 0 {
				t.Errorf("%d analyzer errors", rep.Stats.AnalyzerErrors)
			}
		})
	}
}
