package elf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/contenttest"

	"github.com/picket-cdr/picket/internal/testimage"
)

// TestCleanBookwormRootFS runs the analyzer over every file of the Debian
// bookworm test image: no finding may be HIGH or above.
func TestCleanBookwormRootFS(t *testing.T) {
	img := testimage.RequireBookworm(t)
	contenttest.WalkTree(t, elfAnalyzer{}, img.RootFS, true).Report(t, "bookworm rootfs")
}

// TestCleanHostTrees runs the analyzer over this machine's programs and
// libraries (and the directories in $PICKET_FP_CORPUS, colon-separated):
// no finding may be HIGH or above.
func TestCleanHostTrees(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the host's /usr")
	}
	roots := []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/local"}
	if extra := os.Getenv("PICKET_FP_CORPUS"); extra != "" {
		roots = append(roots, filepath.SplitList(extra)...)
	}
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			continue
		}
		contenttest.WalkTree(t, elfAnalyzer{}, r, false).Report(t, r)
	}
}
