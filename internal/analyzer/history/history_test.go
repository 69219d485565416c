package history

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/inventory"
)

func ids(t *testing.T, in *analyzer.ImageInput) []string {
	t.Helper()
	fs, err := lint{}.AnalyzeImage(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID)
		if f.RuleID == "PKT-IMG-SECRET-ENV" || f.RuleID == "PKT-IMG-SECRET-HISTORY" || f.RuleID == "PKT-IMG-SECRET-LABEL" {
			for _, leak := range []string{"hunter2hunter2", "AKIAIOSFODNN7EXAMPLE", "s3cr3tpassw0rd", "ghp_0123456789abcdefghijklmnopqrstuvwxyz"} {
				if strings.Contains(f.Evidence, leak) || strings.Contains(f.Title, leak) {
					t.Errorf("%s leaks the secret: %q", f.RuleID, f.Evidence)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func img(cfg v1.Config, history ...string) *analyzer.ImageInput {
	c := &v1.ConfigFile{Config: cfg}
	for _, h := range history {
		c.History = append(c.History, v1.History{CreatedBy: h})
	}
	return &analyzer.ImageInput{Name: "test", Config: c}
}

var healthy = &v1.HealthConfig{Test: []string{"CMD", "true"}}

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		in   *analyzer.ImageInput
		want []string
	}{
		{"clean", img(v1.Config{User: "app", Healthcheck: healthy},
			"/bin/sh -c #(nop) ADD file:abc in / ",
			"/bin/sh -c apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
			"/bin/sh -c apk add --no-cache tini",
			"/bin/sh -c #(nop) COPY dir:x in /app",
			"/bin/sh -c #(nop) ADD app.tar.gz /opt/"), nil},
		{"root and no healthcheck", img(v1.Config{}), []string{"PKT-IMG-NO-HEALTHCHECK", "PKT-IMG-ROOT-USER"}},
		{"uid 0", img(v1.Config{User: "0:0", Healthcheck: healthy}), []string{"PKT-IMG-ROOT-USER"}},
		{"healthcheck NONE", img(v1.Config{User: "app", Healthcheck: &v1.HealthConfig{Test: []string{"NONE"}}}), []string{"PKT-IMG-NO-HEALTHCHECK"}},
		{"history", img(v1.Config{User: "app", Healthcheck: healthy},
			"/bin/sh -c #(nop) ADD file:abc in / ",
			"/bin/sh -c #(nop) ADD config.json /etc/app/",
			"ADD https://example.com/tool /usr/local/bin/tool # buildkit",
			"/bin/sh -c apt-get update",
			"/bin/sh -c apt-get install -y nginx",
			"RUN /bin/sh -c apt-get dist-upgrade -y # buildkit",
			"/bin/sh -c apk add curl",
			"/bin/sh -c curl -fsSL https://get.example.sh | sh",
			"RUN /bin/sh -c wget -qO- https://x.example/i.py | python3 # buildkit",
			"/bin/sh -c sudo make install"),
			[]string{"PKT-IMG-ADD", "PKT-IMG-ADD-REMOTE", "PKT-IMG-APK-CACHE", "PKT-IMG-APT-CACHE", "PKT-IMG-DIST-UPGRADE", "PKT-IMG-PIPE-INSTALL", "PKT-IMG-PIPE-INSTALL", "PKT-IMG-SUDO", "PKT-IMG-UPDATE-ALONE"}},
		{"secrets", img(v1.Config{User: "app", Healthcheck: healthy,
			Env: []string{"PATH=/usr/bin", "DB_PASSWORD=hunter2hunter2", "AWS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "API_TOKEN=${TOKEN}",
				"PASSWORD_FILE=/run/secrets/db", "GITHUB=ghp_0123456789abcdefghijklmnopqrstuvwxyz", "SECRET_KEY_LENGTH=32", "NGINX_PASSWORD="},
			Labels: map[string]string{"maintainer": "a@b", "deploy.token": "s3cr3tpassw0rd"}},
			"|2 NPM_TOKEN=s3cr3tpassw0rd VERSION=1.2 /bin/sh -c npm ci",
			"/bin/sh -c mysql -uroot -phunter2hunter2 < init.sql",
			"/bin/sh -c git clone https://bot:s3cr3tpassw0rd@git.example.com/x.git"),
			[]string{"PKT-IMG-SECRET-ENV", "PKT-IMG-SECRET-ENV", "PKT-IMG-SECRET-ENV", "PKT-IMG-SECRET-HISTORY", "PKT-IMG-SECRET-HISTORY", "PKT-IMG-SECRET-HISTORY", "PKT-IMG-SECRET-LABEL"}},
		{"ports and volumes", img(v1.Config{User: "app", Healthcheck: healthy,
			ExposedPorts: map[string]struct{}{"22/tcp": {}, "2375/tcp": {}, "8080/tcp": {}},
			Volumes:      map[string]struct{}{"/proc": {}, "/data": {}, "/sys/fs/cgroup": {}},
			Labels:       map[string]string{"org.opencontainers.image.base.name": "docker.io/library/debian:latest"}}),
			[]string{"PKT-IMG-EXPOSE-DOCKER", "PKT-IMG-EXPOSE-SSH", "PKT-IMG-LATEST", "PKT-IMG-SENSITIVE-VOLUME", "PKT-IMG-SENSITIVE-VOLUME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(t, tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestPackages(t *testing.T) {
	in := &analyzer.ImageInput{Packages: []*inventory.Package{
		{Name: "sudo", Version: "1.9", Ecosystem: inventory.Debian},
		{Name: "openssh-server", Version: "9.2", Ecosystem: inventory.Debian},
		{Name: "sudo", Version: "0.1", Ecosystem: inventory.NPM}, // an npm package named sudo is not sudo
	}}
	if got := ids(t, in); !reflect.DeepEqual(got, []string{"PKT-IMG-SSHD", "PKT-IMG-SUDO"}) {
		t.Errorf("got %v", got)
	}
}
