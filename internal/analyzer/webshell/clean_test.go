package webshell

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/contenttest"

	"github.com/picket-cdr/picket/internal/testimage"
)

// TestCleanBookwormRootFS runs the analyzer over every file of the Debian
// bookworm test image (Python 3.11 and its packages): no finding may be
// HIGH or above.
func TestCleanBookwormRootFS(t *testing.T) {
	img := testimage.RequireBookworm(t)
	contenttest.WalkTree(t, webshell{}, img.RootFS, true).Report(t, "bookworm rootfs")
}

// TestCleanHostTrees runs the analyzer over this machine's Python standard
// library and PHP/Python trees under /usr (and the directories in
// $PICKET_FP_CORPUS, colon-separated): no finding may be HIGH or above.
func TestCleanHostTrees(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the host's /usr")
	}
	roots, _ := filepath.Glob("/usr/lib/python3*")
	roots = append(roots, "/usr/share", "/usr/local/lib")
	if extra := os.Getenv("PICKET_FP_CORPUS"); extra != "" {
		roots = append(roots, filepath.SplitList(extra)...)
	}
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			continue
		}
		contenttest.WalkTree(t, webshell{}, r, false).Report(t, r)
	}
}
