package scan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/testimage"
)

// plantedDockerfile builds on the busybox test image with things a deep
// scan must find, each in its own layer so the layer attribution is
// checked too.
const plantedDockerfile = `FROM %BASE%
ENV DB_PASSWORD=hunter2hunter2
ARG NPM_TOKEN=npm_s3cr3tt0k3nvalue
RUN echo "$NPM_TOKEN" >/dev/null
RUN cp /bin/busybox /bin/rootsh && chmod 4755 /bin/rootsh
COPY dot.env /app/.env
RUN wget -qO- http://127.0.0.1:9/install.sh | sh || true
VOLUME /proc
EXPOSE 22
`

// buildPlanted builds the planted image with the real Docker Engine.
func buildPlanted(t *testing.T) string {
	t.Helper()
	base := testimage.RequireBusybox(t)
	dir := t.TempDir()
	df := strings.ReplaceAll(plantedDockerfile, "%BASE%", base.Ref)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
	os.WriteFile(filepath.Join(dir, "dot.env"), []byte("API_KEY=abc\n"), 0o644)
	tag := "picket-test/planted:1"
	cmd := exec.Command("docker", "build", "-q", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	return tag
}

func TestPlantedImage(t *testing.T) {
	tag := buildPlanted(t)
	rep, err := New().Scan(context.Background(), "docker-daemon:"+tag, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		rule, path string
		layer      int // -1: image-level, no layer
	}
	// The layer each planted file was made in, from the history.
	layerOf := func(marker string) int {
		for _, l := range rep.Target.Layers {
			if strings.Contains(l.CreatedBy, marker) {
				return l.Index
			}
		}
		t.Fatalf("no layer created by %q", marker)
		return -1
	}
	wants := []want{
		{"PKT-IMG-SECRET-ENV", "", -1},
		{"PKT-IMG-SECRET-HISTORY", "", -1},
		{"PKT-IMG-PIPE-INSTALL", "", -1},
		{"PKT-IMG-SENSITIVE-VOLUME", "", -1},
		{"PKT-IMG-EXPOSE-SSH", "", -1},
		{"PKT-IMG-ROOT-USER", "", -1},
		{"PKT-FS-SETUID", "/bin/rootsh", layerOf("rootsh")},
		{"PKT-FS-UNNEEDED", "/app/.env", layerOf("/app/.env")},
	}
	for _, w := range wants {
		found := false
		for _, f := range rep.Findings {
			if f.RuleID != w.rule || w.path != "" && f.Location.Path != w.path {
				continue
			}
			found = true
			if w.layer >= 0 && (f.Location.LayerIndex == nil || *f.Location.LayerIndex != w.layer) {
				t.Errorf("%s %s: layer %v, want %d", w.rule, w.path, layerIndex(f.Location.LayerIndex), w.layer)
			}
			if strings.Contains(f.Evidence, "hunter2hunter2") || strings.Contains(f.Evidence, "npm_s3cr3tt0k3nvalue") {
				t.Errorf("%s: evidence leaks the secret: %q", w.rule, f.Evidence)
			}
		}
		if !found {
			t.Errorf("%s %s not found", w.rule, w.path)
		}
	}
}

func layerIndex(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}
