package elf

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/testimage"
)

// osFile is analyzer content backed by a file.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// treeStats summarises an analyzer's run over a directory tree.
type treeStats struct {
	files, required, errors int
	bySev                   map[finding.Severity]int
	byRule                  map[string]int
	worst                   []*finding.Finding // MEDIUM and above
	elapsed                 time.Duration
}

// walkTree runs a over every regular file below root, as an image rooted at
// root (imageRoot) or with host paths.
func walkTree(t *testing.T, a analyzer.Analyzer, root string, imageRoot bool) treeStats {
	t.Helper()
	st := treeStats{bySev: map[finding.Severity]int{}, byRule: map[string]int{}}
	start := time.Now()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable directories are not the point
		}
		if d.IsDir() {
			if imageRoot && (p == filepath.Join(root, "proc") || p == filepath.Join(root, "sys")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st.files++
		ip := p
		if imageRoot {
			rel, _ := filepath.Rel(root, p)
			ip = "/" + filepath.ToSlash(rel)
		}
		if !a.Required(ip, info) {
			return nil
		}
		st.required++
		fh, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer fh.Close()
		res, err := a.Analyze(context.Background(), &analyzer.Input{Path: ip, Info: info, Content: osFile{fh, info.Size()}})
		if err != nil {
			st.errors++
			t.Logf("error (counted skip): %v", err)
			return nil
		}
		for _, f := range res.Findings {
			st.bySev[f.Severity]++
			st.byRule[f.RuleID]++
			if f.Severity >= finding.Medium {
				st.worst = append(st.worst, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.elapsed = time.Since(start)
	return st
}

func (st treeStats) report(t *testing.T, name string) {
	t.Helper()
	var sev []string
	for s := finding.Critical; s >= finding.Info; s-- {
		if st.bySev[s] > 0 {
			sev = append(sev, s.String()+" "+strconv.Itoa(st.bySev[s]))
		}
	}
	var rules []string
	for r, n := range st.byRule {
		rules = append(rules, r+"="+strconv.Itoa(n))
	}
	sort.Strings(rules)
	t.Logf("%s: %d files, %d analysed, %d errors, findings [%s] rules [%s] in %s",
		name, st.files, st.required, st.errors, strings.Join(sev, ", "), strings.Join(rules, " "), st.elapsed.Round(time.Millisecond))
	for _, f := range st.worst {
		msg := f.Severity.String() + " " + f.RuleID + " " + f.Location.Path + ": " + f.Title + " [" + f.Attributes["indicators"] + f.Attributes["signals"] + "] " + f.Evidence
		if f.Severity >= finding.High {
			t.Errorf("false positive: %s", msg)
		} else {
			t.Logf("medium: %s", msg)
		}
	}
}

// TestCleanBookwormRootFS runs the analyzer over every file of the Debian
// bookworm test image: no finding may be HIGH or above.
func TestCleanBookwormRootFS(t *testing.T) {
	img := testimage.RequireBookworm(t)
	walkTree(t, elfAnalyzer{}, img.RootFS, true).report(t, "bookworm rootfs")
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
		walkTree(t, elfAnalyzer{}, r, false).report(t, r)
	}
}
