// Package contenttest holds what the tests of content analyzers (elf,
// webshell, ...) share: running an analyzer over a directory tree as if it
// were an image, and building real images with planted files on the local
// Docker Engine to scan them end to end.
package contenttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
)

// Registered returns the registered analyzer called name.
func Registered(t testing.TB, name string) analyzer.Analyzer {
	t.Helper()
	for _, a := range analyzer.All() {
		if a.Name() == name {
			return a
		}
	}
	t.Fatalf("analyzer %s is not registered", name)
	return nil
}

// osFile is analyzer content backed by a file.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// TreeStats summarises an analyzer's run over a directory tree.
type TreeStats struct {
	files, required, errors int
	bySev                   map[finding.Severity]int
	byRule                  map[string]int
	worst                   []*finding.Finding // MEDIUM and above
	elapsed                 time.Duration
}

// WalkTree runs a over every regular file below root, as an image rooted at
// root (imageRoot) or with host paths.
func WalkTree(t *testing.T, a analyzer.Analyzer, root string, imageRoot bool) TreeStats {
	t.Helper()
	st := TreeStats{bySev: map[finding.Severity]int{}, byRule: map[string]int{}}
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

// Report logs the statistics and fails the test for every finding of
// HIGH or above (a false positive on a clean tree).
func (st TreeStats) Report(t *testing.T, name string) {
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

// Plant is a file added to a test image.
type Plant struct {
	Path string
	Body []byte
	Mode os.FileMode
}

// BuildImage builds an image on the local Docker Engine: FROM base, one
// COPY layer per element of layers, then one RUN layer per command. The
// image is removed when the test ends.
func BuildImage(t *testing.T, name, base string, layers [][]Plant, runs ...string) string {
	t.Helper()
	dir := t.TempDir()
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", base)
	for i, l := range layers {
		root := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		for _, p := range l {
			f := filepath.Join(root, filepath.FromSlash(p.Path))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, p.Body, p.Mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(f, p.Mode); err != nil { // beyond the umask
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&df, "COPY layer%d/ /\n", i)
	}
	for _, r := range runs {
		fmt.Fprintf(&df, "RUN %s\n", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	ref := "picket-test/" + name + "-planted:" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", ref, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s\nDockerfile:\n%s", err, out, df.String())
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	return ref
}

// Scan scans ref with only the named registered analyzer.
func Scan(t *testing.T, analyzerName, ref string) *report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := scan.New(scan.WithAnalyzers([]analyzer.Analyzer{Registered(t, analyzerName)})).Scan(ctx, ref, image.Options{})
	if err != nil {
		t.Fatalf("scan %s: %v", ref, err)
	}
	return rep
}
