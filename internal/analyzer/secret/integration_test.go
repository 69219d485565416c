package secret_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/secret"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/layer/layertest"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// dockerSave writes a docker save archive of the layers.
func dockerSave(t *testing.T, layers ...[]byte) string {
	t.Helper()
	var diffIDs, names []string
	var files []layertest.File
	for i, l := range layers {
		diffIDs = append(diffIDs, digest(l))
		n := fmt.Sprintf("%064d/layer.tar", i)
		names = append(names, n)
		files = append(files, layertest.File{Name: n, Body: string(l)})
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cfgName := digest(cfg)[7:] + ".json"
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"secrets:test"}, "Layers": names}})
	files = append(files, layertest.File{Name: cfgName, Body: string(cfg)}, layertest.File{Name: "manifest.json", Body: string(mf)})
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, layertest.Tar(t, files...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// scanWith runs the real scan pipeline with only the secret analyzer.
func scanWith(t *testing.T, ref string, a analyzer.Analyzer) *report.Report {
	t.Helper()
	s := scan.New(scan.WithAnalyzers([]analyzer.Analyzer{a}), scan.WithImageAnalyzers([]analyzer.ImageAnalyzer{}))
	rep, err := s.Scan(context.Background(), ref, image.Options{})
	if err != nil {
		t.Fatalf("Scan(%s): %v", ref, err)
	}
	return rep
}

// Fake credentials, built at run time so that no credential-looking literal
// sits in the repository.
func fake(prefix string, n int, alphabet string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := range n {
		b.WriteByte(alphabet[(i*7+3)%len(alphabet)])
	}
	return b.String()
}

const alnum = "q8W2e5R7t1Y4u6I9o0P3a5S7d9F1g3H5j7K9l2Z4x6C8v0B2n4M6"

// Secrets planted in three layers come out with the layer and path of the
// file, once each, redacted; secrets in files a later layer deleted or
// overwrote are still in their layer and come out marked as removed.
func TestSecretsInLayers(t *testing.T) {
	ghToken := fake("ghp_", 36, alnum)
	pemBody := strings.Repeat(fake("", 64, alnum+"+/")+"\n", 10)
	l0 := layertest.Tar(t,
		layertest.File{Name: "etc/", Typ: '5', Mode: 0o755},
		layertest.File{Name: "etc/shadow", Body: "root:$1$saltsalt$" + fake("", 22, alnum) + ":19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n", Mode: 0o640},
		layertest.File{Name: "app/", Typ: '5', Mode: 0o755},
		layertest.File{Name: "app/.env", Body: "PORT=8080\nDB_PASSWORD=" + fake("", 18, alnum) + "\n"},
		layertest.File{Name: "app/old.env", Body: "API_TOKEN=" + fake("", 24, alnum) + "\n"},
		layertest.File{Name: "app/tests/fixture.txt", Body: "token = " + ghToken + "\n"},
		layertest.File{Name: "root/.ssh/id_ed25519", Body: "-----BEGIN OPENSSH PRIVATE KEY-----\n" + pemBody + "-----END OPENSSH PRIVATE KEY-----\n", Mode: 0o600},
		layertest.File{Name: "usr/bin/garbage", Body: "\x7fELF\x00\x00" + strings.Repeat("\x00\xff"+ghToken, 50), Mode: 0o755},
	)
	l1 := layertest.Tar(t,
		layertest.File{Name: "root/.docker/config.json", Body: `{"auths":{"registry.internal.net":{"auth":"Y2ktYm90OnE4VzJlNVI3dDFZNHU2STlvMA=="}}}`},
		layertest.File{Name: "app/.wh.old.env"},
		layertest.File{Name: "srv/notes.txt", Body: "first line\nsecond line has " + ghToken + "\n"},
	)
	l2 := layertest.Tar(t,
		layertest.File{Name: "etc/redis/redis.conf", Body: "bind 127.0.0.1\n# requirepass foobared\nrequirepass changeme\n"},
		layertest.File{Name: "srv/notes.txt", Body: "rewritten, clean\n"}, // hides layer 1's token
	)
	rep := scanWith(t, "docker-archive:"+dockerSave(t, l0, l1, l2), secret.MustNew())

	type loc struct {
		rule, path  string
		line, layer int
	}
	got := map[loc]*finding.Finding{}
	for _, f := range rep.Findings {
		if f.Kind != finding.KindSecret {
			t.Logf("other finding: %s %s %s", f.RuleID, f.Location.Path, f.Title)
			continue
		}
		got[loc{f.RuleID, f.Location.Path, f.Location.Line, *f.Location.LayerIndex}] = f
		if strings.Contains(f.Evidence, ghToken) || strings.Contains(f.Evidence, pemBody[:40]) {
			t.Errorf("unredacted evidence %q", f.Evidence)
		}
		if f.Location.LayerDiffID == "" || f.Location.Image == "" {
			t.Errorf("finding without image location: %+v", f.Location)
		}
	}
	want := []loc{
		{"shadow-md5-hash", "/etc/shadow", 1, 0},
		{"env-file-secret", "/app/.env", 2, 0},
		{"private-key-openssh", "/root/.ssh/id_ed25519", 1, 0},
		{"docker-config-auth", "/root/.docker/config.json", 1, 1},
		{"redis-requirepass", "/etc/redis/redis.conf", 3, 2},
	}
	removed := []loc{
		{"env-file-secret", "/app/old.env", 1, 0}, // whited out in layer 1
		{"github-pat", "/srv/notes.txt", 2, 1},    // overwritten in layer 2
	}
	for _, w := range append(want, removed...) {
		f := got[w]
		if f == nil {
			t.Errorf("missing %+v", w)
			continue
		}
		isRemoved := f.Attributes["removedInLaterLayer"] == "true"
		if wantRemoved := slices.Contains(removed, w); isRemoved != wantRemoved {
			t.Errorf("%+v: removedInLaterLayer=%t, want %t", w, isRemoved, wantRemoved)
		}
		delete(got, w)
	}
	for l, f := range got {
		t.Errorf("unexpected finding %+v: %s", l, f.Evidence)
	}
}

// testdataDir finds ../shared/<rel>, skipping when it is absent.
func sharedPath(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// noHigh fails on secret findings at or above High: a clean image must not
// have any (false positives are bugs).
func noHigh(t *testing.T, name string, fs []*finding.Finding) {
	t.Helper()
	n := 0
	for _, f := range fs {
		if f.Kind != finding.KindSecret {
			continue
		}
		n++
		if f.Severity >= finding.High {
			t.Errorf("%s: %s finding %s at %s: %s", name, f.Severity, f.RuleID, f.Location, f.Evidence)
		} else {
			t.Logf("%s: %s finding %s at %s: %s", name, f.Severity, f.RuleID, f.Location, f.Evidence)
		}
	}
	t.Logf("%s: %d secret findings", name, n)
}

// The Alpine root filesystems, the alpine:3.10 docker save archive and the
// busybox OCI layout in ../shared, through the real pipeline: no High or
// Critical secret findings.
func TestCleanSharedImages(t *testing.T) {
	a := secret.MustNew()
	for _, ref := range []string{
		"rootfs:" + sharedPath(t, "images/alpine-minirootfs-3.10.9-x86_64.tar.gz"),
		"rootfs:" + sharedPath(t, "images/alpine-minirootfs-3.20.3-x86_64.tar.gz"),
		"docker-archive:" + sharedPath(t, "images/alpine-3.10-docker-save.tar.gz"),
		"oci:" + sharedPath(t, "images/busybox-1.38-musl-oci"),
	} {
		rep := scanWith(t, ref, a)
		if rep.Stats.FilesAnalyzed == 0 {
			t.Errorf("%s: no file analysed", ref)
		}
		t.Logf("%s: %d files, %d analysed", ref, rep.Stats.Files, rep.Stats.FilesAnalyzed)
		noHigh(t, ref, rep.Findings)
	}
}
