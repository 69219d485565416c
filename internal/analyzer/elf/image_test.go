package elf_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/contenttest"

	"github.com/picket-cdr/picket/internal/analyzer/elf"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/testimage"
)

// TestPlantedImage builds a real image with planted binaries in several
// layers and checks that each is found at its path and layer, that a
// binary deleted by a later layer is not reported, and that a malformed
// ELF is a counted skip.
func TestPlantedImage(t *testing.T) {
	base := testimage.RequireBusybox(t)
	prog := elf.Program(t)
	packed := elf.UPXLayout(prog, false)
	packer := "UPX layout (no upx on this machine)"
	if upx, _ := elf.UPXTool(t); upx != "" {
		packed, packer = elf.UPXPack(t, upx, prog), "upx"
	}
	t.Logf("packed ELF made with %s", packer)
	malformed := elf.HostileELF(t)
	layers := [][]contenttest.Plant{
		{ // layer 1
			{Path: "/tmp/.ICE-unix/kworker", Body: packed, Mode: 0o755},
			{Path: "/usr/local/bin/gone", Body: packed, Mode: 0o755},
		},
		{ // layer 2
			{Path: "/usr/local/bin/app", Body: elf.UPXLayout(prog, true), Mode: 0o755},
			{Path: "/usr/bin/broken", Body: malformed, Mode: 0o755},
		},
	}
	type want struct {
		rule, path string
		layer      int
		sev        finding.Severity
	}
	wants := []want{
		{"PKT-ELF-PACKED", "/tmp/.ICE-unix/kworker", 1, finding.High},
		{"PKT-ELF-ODD-LOCATION", "/tmp/.ICE-unix/kworker", 1, finding.High},
		{"PKT-ELF-PACKED", "/usr/local/bin/app", 2, finding.High},
	}
	// Compiled samples when this machine has a C compiler.
	if _, err := exec.LookPath("cc"); err == nil {
		layers = append(layers, []contenttest.Plant{ // layer 3
			{Path: "/usr/local/lib/libprocesshider.so", Body: elf.CC(t, "hider", elf.HiderC, "-shared", "-fPIC"), Mode: 0o644},
			{Path: "/var/tmp/xmr", Body: elf.CC(t, "miner", elf.MinerC), Mode: 0o755},
		})
		wants = append(wants,
			want{"PKT-ELF-ROOTKIT", "/usr/local/lib/libprocesshider.so", 3, finding.High},
			want{"PKT-ELF-MINER", "/var/tmp/xmr", 3, finding.Critical},
			want{"PKT-ELF-ODD-LOCATION", "/var/tmp/xmr", 3, finding.High})
	} else {
		t.Log("no C compiler: the miner and rootkit samples are left out")
	}
	ref := contenttest.BuildImage(t, "elf", base.Ref, layers, "rm /usr/local/bin/gone")
	rep := contenttest.Scan(t, elf.Name, "docker-daemon:"+ref)

	got := map[string]*finding.Finding{}
	for _, f := range rep.Findings {
		if f.Location.LayerIndex != nil {
			t.Logf("%s %s %s layer %d: %s", f.Severity, f.RuleID, f.Location.Path, *f.Location.LayerIndex, f.Title)
		}
		got[f.RuleID+" "+f.Location.Path] = f
	}
	for _, w := range wants {
		f := got[w.rule+" "+w.path]
		switch {
		case f == nil:
			t.Errorf("%s at %s not found", w.rule, w.path)
		case f.Location.LayerIndex == nil || *f.Location.LayerIndex != w.layer:
			t.Errorf("%s at %s: layer %v, want %d", w.rule, w.path, f.Location.LayerIndex, w.layer)
		case f.Severity < w.sev:
			t.Errorf("%s at %s: severity %s, want %s", w.rule, w.path, f.Severity, w.sev)
		case f.Location.LayerDiffID != rep.Target.Layers[w.layer].DiffID:
			t.Errorf("%s at %s: diff id %s", w.rule, w.path, f.Location.LayerDiffID)
		}
	}
	for k := range got {
		if strings.HasSuffix(k, " /usr/local/bin/gone") {
			t.Errorf("deleted binary reported: %s", k)
		}
	}
	// The malformed binary is skipped and counted, in its layer.
	if rep.Stats.AnalyzerErrors != 1 {
		t.Errorf("analyzer errors %d, want 1", rep.Stats.AnalyzerErrors)
	}
	skip := got["PKT-SCAN-ANALYZER-ERROR "]
	if skip == nil || !strings.Contains(skip.Evidence, "/usr/bin/broken") || *skip.Location.LayerIndex != 2 {
		t.Errorf("skip finding %+v", skip)
	}
}

// TestCleanImages scans real distribution images: nothing HIGH or above.
func TestCleanImages(t *testing.T) {
	refs := map[string]string{}
	if testing.Short() {
		t.Skip("scans real images")
	}
	shared := filepath.Join("..", "..", "..", "..", "shared", "images")
	for name, rel := range map[string]string{
		"alpine 3.10 (docker save)": "docker-archive:" + filepath.Join(shared, "alpine-3.10-docker-save.tar.gz"),
		"alpine 3.20 (minirootfs)":  "rootfs:" + filepath.Join(shared, "alpine-minirootfs-3.20.3-x86_64.tar.gz"),
		"busybox 1.38 (OCI layout)": "oci:" + filepath.Join(shared, "busybox-1.38-musl-oci"),
	} {
		_, p, _ := strings.Cut(rel, ":")
		if _, err := os.Stat(p); err == nil {
			refs[name] = rel
		} else {
			t.Logf("%s not available: %v", name, err)
		}
	}
	t.Run("busybox", func(t *testing.T) {
		checkClean(t, contenttest.Scan(t, elf.Name, "docker-daemon:"+testimage.RequireBusybox(t).Ref))
	})
	t.Run("debian bookworm", func(t *testing.T) {
		checkClean(t, contenttest.Scan(t, elf.Name, "docker-daemon:"+testimage.RequireBookworm(t).Ref))
	})
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) { checkClean(t, contenttest.Scan(t, elf.Name, ref)) })
	}
}

func checkClean(t *testing.T, rep *report.Report) {
	t.Helper()
	n := map[string]int{}
	for _, f := range rep.Findings {
		n[f.Severity.String()]++
		if f.Severity >= finding.High {
			t.Errorf("false positive: %s %s %s: %s (%s)", f.Severity, f.RuleID, f.Location.Path, f.Title, f.Attributes["indicators"])
		}
	}
	t.Logf("%s: %d files analysed, findings by severity %v", rep.Target.Name, rep.Stats.FilesAnalyzed, n)
}
