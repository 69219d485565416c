package yara_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/yara"
	"github.com/picket-cdr/picket/internal/analyzer/yara/malwaretest"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/testimage"
)

// An EICAR file and a web shell planted in the middle layer of a real
// Alpine image are reported at their paths and in that layer; one planted
// and then deleted, or overwritten with clean content, is not.
func TestImagePlantedEICAR(t *testing.T) {
	a := defaults(t)
	base := malwaretest.AlpineLayer(t)
	planted := malwaretest.Layer(t,
		malwaretest.File{Name: "srv/", Typ: '5', Mode: 0o755},
		malwaretest.File{Name: "srv/eicar.com", Body: eicar},
		malwaretest.File{Name: "var/www/html/", Typ: '5', Mode: 0o755},
		malwaretest.File{Name: "var/www/html/up.php", Body: `<?php system($_GET['cmd']); ?>`},
		malwaretest.File{Name: "tmp/deleted.com", Body: eicar},
		malwaretest.File{Name: "tmp/overwritten.com", Body: eicar},
	)
	top := malwaretest.Layer(t,
		malwaretest.File{Name: "tmp/.wh.deleted.com"},
		malwaretest.File{Name: "tmp/overwritten.com", Body: "clean now\n"},
		malwaretest.File{Name: "usr/local/bin/app", Body: "#!/bin/sh\necho app\n", Mode: 0o755},
	)
	rep := malwaretest.Scan(t, "docker-archive:"+malwaretest.DockerSave(t, base, planted, top), a)
	got := map[string]*finding.Finding{}
	for _, f := range malwaretest.Findings(rep) {
		got[f.Location.Path+" "+f.RuleID] = f
	}
	for _, want := range []string{"/srv/eicar.com PKT-YARA-EICAR_Test_File", "/var/www/html/up.php PKT-YARA-Webshell_PHP_Request_Exec"} {
		f := got[want]
		if f == nil {
			t.Errorf("missing %s in %v", want, keys(got))
			continue
		}
		if f.Location.LayerIndex == nil || *f.Location.LayerIndex != 1 || f.Location.LayerDiffID == "" || f.Severity < finding.High {
			t.Errorf("%s: location %+v severity %v", want, f.Location, f.Severity)
		}
		delete(got, want)
	}
	if len(got) > 0 {
		t.Errorf("unexpected findings: %v", keys(got))
	}
}

func keys(m map[string]*finding.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Clean images from ../shared and the Debian bookworm and busybox test
// images yield no high or critical findings, with the default rules.
func TestImageCleanNoHighFindings(t *testing.T) {
	testClean(t, defaults(t))
}

// The same clean images with signature-base loaded.
func TestImageCleanWithSignatureBase(t *testing.T) {
	requireYARA(t)
	a, err := yara.New(yara.Options{RuleDirs: []string{malwaretest.Shared(t, "rules/yara-signature-base")}})
	if err != nil {
		t.Fatal(err)
	}
	testClean(t, a)
}

// counting counts the files an analyzer looked at.
type counting struct {
	analyzer.Analyzer
	n atomic.Int64
}

func (c *counting) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	c.n.Add(1)
	return c.Analyzer.Analyze(ctx, in)
}

func testClean(t *testing.T, a analyzer.Analyzer) {
	refs := malwaretest.CleanImages(t)
	if !testing.Short() {
		if img, err := testimage.Bookworm(testimage.WithLog(context.Background(), t.Logf)); err == nil {
			refs["debian-bookworm"] = "rootfs:" + img.RootFS
		} else {
			t.Logf("bookworm test image unavailable: %v", err)
		}
		if img, err := testimage.Busybox(testimage.WithLog(context.Background(), t.Logf)); err == nil {
			refs["busybox-debian-static"] = "docker-daemon:" + img.Ref
		} else {
			t.Logf("busybox test image unavailable: %v", err)
		}
	}
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			c := &counting{Analyzer: a}
			rep := malwaretest.Scan(t, ref, c)
			t.Logf("%d files scanned", c.n.Load())
			if c.n.Load() == 0 {
				t.Error("no file scanned")
			}
			all := malwaretest.Findings(rep)
			for _, f := range all {
				t.Logf("%s %s %s", f.Severity, f.RuleID, f.Location.Path)
			}
			if high := malwaretest.AtLeast(all, finding.High); len(high) > 0 {
				t.Errorf("%d high findings in a clean image", len(high))
			}
			for _, f := range rep.Findings {
				if f.RuleID == "PKT-SCAN-ANALYZER-ERROR" {
					t.Errorf("analyzer errors: %s", f.Evidence)
				}
			}
		})
	}
}
