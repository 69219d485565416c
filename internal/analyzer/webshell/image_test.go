package webshell_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/contenttest"

	"github.com/picket-cdr/picket/internal/analyzer/webshell"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/testimage"
)

// TestPlantedImage builds a real image with webshells planted in several
// layers, next to clean scripts, and checks that each shell is found at its
// path and layer and that a shell deleted by a later layer is not reported.
func TestPlantedImage(t *testing.T) {
	base := testimage.RequireBusybox(t)
	clean := []byte("<?php\n$name = htmlspecialchars($_GET['name'] ?? 'world');\necho \"Hello $name\";\n")
	layers := [][]contenttest.Plant{
		{ // layer 1: the application
			{Path: "/var/www/html/index.php", Body: clean, Mode: 0o644},
			{Path: "/var/www/html/old.php", Body: []byte(webshell.Sample("china chopper php")), Mode: 0o644},
		},
		{ // layer 2: uploads
			{Path: "/var/www/html/wp-content/uploads/2024/05/thumb.php", Body: []byte(webshell.Sample("wso-like chain")), Mode: 0o644},
			{Path: "/usr/local/tomcat/webapps/ROOT/cmd.jsp", Body: []byte(webshell.Sample("jsp cmd")), Mode: 0o644},
		},
		{ // layer 3
			{Path: "/usr/lib/cgi-bin/status.py", Body: []byte(webshell.Sample("python cgi")), Mode: 0o755},
			{Path: "/app/app.py", Body: []byte("from flask import Flask, request\napp = Flask(__name__)\n@app.get('/')\ndef hi():\n    return request.args.get('q', '')\n"), Mode: 0o644},
		},
	}
	ref := contenttest.BuildImage(t, "webshell", base.Ref, layers, "rm /var/www/html/old.php")
	rep := contenttest.Scan(t, webshell.Name, "docker-daemon:"+ref)
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
		checkClean(t, contenttest.Scan(t, webshell.Name, "docker-daemon:"+testimage.RequireBookworm(t).Ref))
	})
	t.Run("busybox", func(t *testing.T) {
		checkClean(t, contenttest.Scan(t, webshell.Name, "docker-daemon:"+testimage.RequireBusybox(t).Ref))
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
			checkClean(t, contenttest.Scan(t, webshell.Name, ref))
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
