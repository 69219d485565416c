package webshell_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/webshell"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
	"github.com/picket-cdr/picket/internal/testimage"
)

// plant is a file added to a test image.
type plant struct {
	path string
	body []byte
	mode os.FileMode
}

// buildImage builds an image on the local Docker Engine: FROM base, one
// COPY layer per element of layers, then one RUN layer per command. The
// image is removed when the test ends.
func buildImage(t *testing.T, base string, layers [][]plant, runs ...string) string {
	t.Helper()
	dir := t.TempDir()
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", base)
	for i, l := range layers {
		root := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		for _, p := range l {
			f := filepath.Join(root, filepath.FromSlash(p.path))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, p.body, p.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(f, p.mode); err != nil { // beyond the umask
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
	ref := "picket-test/webshell-planted:" + hex.EncodeToString(rnd[:])
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

func webshellAnalyzers(t testing.TB) []analyzer.Analyzer {
	for _, a := range analyzer.All() {
		if a.Name() == webshell.Name {
			return []analyzer.Analyzer{a}
		}
	}
	t.Fatalf("analyzer %s is not registered", webshell.Name)
	return nil
}

func scanRef(t *testing.T, ref string) *report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := scan.New(scan.WithAnalyzers(webshellAnalyzers(t))).Scan(ctx, ref, image.Options{})
	if err != nil {
		t.Fatalf("scan %s: %v", ref, err)
	}
	return rep
}

// TestPlantedImage builds a real image with webshells planted in several
// layers, next to clean scripts, and checks that each shell is found at its
// path and layer and that a shell deleted by a later layer is not reported.
func TestPlantedImage(t *testing.T) {
	base := testimage.RequireBusybox(t)
	clean := []byte("<?php\n$name = htmlspecialchars($_GET['name'] ?? 'world');\necho \"Hello $name\";\n")
	layers := [][]plant{
		{ // layer 1: the application
			{"/var/www/html/index.php", clean, 0o644},
			{"/var/www/html/old.php", []byte(webshell.Sample("china chopper php")), 0o644},
		},
		{ // layer 2: uploads
			{"/var/www/html/wp-content/uploads/2024/05/thumb.php", []byte(webshell.Sample("wso-like chain")), 0o644},
			{"/usr/local/tomcat/webapps/ROOT/cmd.jsp", []byte(webshell.Sample("jsp cmd")), 0o644},
		},
		{ // layer 3
			{"/usr/lib/cgi-bin/status.py", []byte(webshell.Sample("python cgi")), 0o755},
			{"/app/app.py", []byte("from flask import Flask, request\napp = Flask(__name__)\n@app.get('/')\ndef hi():\n    return request.args.get('q', '')\n"), 0o644},
		},
	}
	ref := buildImage(t, base.Ref, layers, "rm /var/www/html/old.php")
	rep := scanRef(t, "docker-daemon:"+ref)
	wants := []struct {
		path  string
		layer int
		sev   finding.Severity
	}{
		{"/var/www/html/wp-content/uploads/2024/05/thumb.php", 2, finding.Critical},
		{"/usr/local/tomcat/webapps/ROOT/cmd.jsp", 2, finding.Critical},
		{"/usr/lib/cgi-bin/status.py", 3, finding.High},
	}
	got := map[string]*finding.Finding{}
	for _, f := range rep.Findings {
		if f.RuleID != webshell.RuleID {
			continue
		}
		t.Logf("%s %s %s:%d layer %d: %s [%s]", f.Severity, f.RuleID, f.Location.Path, f.Location.Line, *f.Location.LayerIndex, f.Title, f.Attributes["signals"])
		got[f.Location.Path] = f
	}
	for _, w := range wants {
		f := got[w.path]
		switch {
		case f == nil:
			t.Errorf("webshell %s not found", w.path)
		case *f.Location.LayerIndex != w.layer || f.Location.LayerDiffID != rep.Target.Layers[w.layer].DiffID:
			t.Errorf("%s: layer %d (%s), want %d", w.path, *f.Location.LayerIndex, f.Location.LayerDiffID, w.layer)
		case f.Severity < w.sev:
			t.Errorf("%s: severity %s, want %s", w.path, f.Severity, w.sev)
		}
	}
	if len(got) != len(wants) {
		t.Errorf("%d webshell findings, want %d (the deleted shell and the clean scripts must not be reported)", len(got), len(wants))
	}
}

// TestCleanImages scans real distribution images (Debian's Python 3.11
// included): nothing HIGH or above.
func TestCleanImages(t *testing.T) {
	if testing.Short() {
		t.Skip("scans real images")
	}
	t.Run("debian bookworm", func(t *testing.T) {
		checkClean(t, scanRef(t, "docker-daemon:"+testimage.RequireBookworm(t).Ref))
	})
	t.Run("busybox", func(t *testing.T) {
		checkClean(t, scanRef(t, "docker-daemon:"+testimage.RequireBusybox(t).Ref))
	})
	shared := filepath.Join("..", "..", "..", "..", "shared", "images")
	for name, ref := range map[string]string{
		"alpine 3.10 (docker save)": "docker-archive:" + filepath.Join(shared, "alpine-3.10-docker-save.tar.gz"),
		"alpine 3.20 (minirootfs)":  "rootfs:" + filepath.Join(shared, "alpine-minirootfs-3.20.3-x86_64.tar.gz"),
	} {
		t.Run(name, func(t *testing.T) {
			_, p, _ := strings.Cut(ref, ":")
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s not available: %v", name, err)
			}
			checkClean(t, scanRef(t, ref))
		})
	}
}

func checkClean(t *testing.T, rep *report.Report) {
	t.Helper()
	n := map[string]int{}
	for _, f := range rep.Findings {
		n[f.Severity.String()]++
		if f.Severity >= finding.High {
			t.Errorf("false positive: %s %s %s: %s", f.Severity, f.RuleID, f.Location.Path, f.Title)
		}
	}
	t.Logf("%s: %d files analysed, findings by severity %v", rep.Target.Name, rep.Stats.FilesAnalyzed, n)
}
