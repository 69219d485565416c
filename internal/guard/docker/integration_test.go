package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/testimage"
)

// The CLI tests' access file: the test runs as root, whose unix identity
// is mapped to alice (a developer, not docker-admin, so the policy
// applies); mallory has a valid certificate and no rights; ci uses a token.
const cliAccess = `
users:
  alice: {groups: [dev]}
  ci:
    groups: [dev]
    tokens: ["sha256:%s"]
unix:
  uids: {0: alice}
rules:
  - subjects: [group:dev]
    allow: ["*"]
  - subjects: ["*"]
    allow: ["GET /_ping", "HEAD /_ping"]
`

// limits are the flags that make docker run pass the default policy.
var limits = []string{"--memory", "64m", "--cpus", "0.5", "--pids-limit", "100", "--security-opt", "no-new-privileges"}

type cli struct {
	env []string
}

func newCLI(t *testing.T, host string, extraEnv ...string) *cli {
	cfg := t.TempDir()
	env := []string{"DOCKER_HOST=" + host, "DOCKER_CONFIG=" + cfg, "DOCKER_BUILDKIT=0", "DOCKER_CLI_HINTS=false"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DOCKER_") {
			env = append(env, e)
		}
	}
	return &cli{env: append(env, extraEnv...)}
}

func (c *cli) run(timeout time.Duration, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = c.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return o.String(), e.String(), err
}

func (c *cli) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := c.run(60*time.Second, "", args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (c *cli) refused(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errOut, err := c.run(60*time.Second, "", args...)
	if err == nil {
		t.Fatalf("docker %s succeeded, want refusal %q\n%s", strings.Join(args, " "), want, out)
	}
	if !strings.Contains(errOut, "Error response from daemon: ") || !strings.Contains(errOut, want) {
		t.Fatalf("docker %s: stderr %q, want the daemon error with %q", strings.Join(args, " "), errOut, want)
	}
}

func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// direct runs docker against the real daemon (cleanup).
func direct(args ...string) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+dockerSock)
	_ = cmd.Run()
}

// TestDockerCLIThroughGuard drives the real docker CLI through the guard
// in front of the machine's dockerd: unix socket, mTLS and token over TCP.
func TestDockerCLIThroughGuard(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("guard: docker CLI not installed: " + err.Error())
	}
	img := testimage.RequireBusybox(t)
	token := unique("tok-")
	sum := sha256hex(token)
	p := newPKI(t)
	g := startGuard(t, guardSetup{access: fmt.Sprintf(cliAccess, sum), tls: p.serverTLS(t, true)})
	unixCLI := newCLI(t, "unix://"+g.sock)
	name := unique("picket-test-guard-")
	t.Cleanup(func() { direct("rm", "-f", name) })

	t.Run("ps", func(t *testing.T) {
		unixCLI.ok(t, "ps")
	})
	t.Run("run", func(t *testing.T) {
		out := unixCLI.ok(t, append(append([]string{"run", "--rm"}, limits...), img.Ref, "echo", "hello through picket")...)
		if !strings.Contains(out, "hello through picket") {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"privileged", append([]string{"--privileged"}, limits...), "privileged containers are not allowed [privileged]"},
			{"root bind", append([]string{"-v", "/:/host"}, limits...), "[sensitive-host-mount]"},
			{"docker socket", append([]string{"-v", "/var/run/docker.sock:/s"}, limits...), "mounting the Docker socket into a container is not allowed [docker-socket-mount]"},
			{"pid host", append([]string{"--pid", "host"}, limits...), "[host-namespaces]"},
			{"cap SYS_ADMIN", append([]string{"--cap-add", "SYS_ADMIN"}, limits...), "[dangerous-capabilities]"},
			{"no limits", []string{"--security-opt", "no-new-privileges"}, "containers must set memory, CPU and PID limits (--memory, --cpus, --pids-limit) [resource-limits]"},
			{"port on all interfaces", append([]string{"-p", "18080:80"}, limits...), "[port-on-all-interfaces]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				unixCLI.refused(t, tt.want, append(append([]string{"run", "--rm"}, tt.args...), img.Ref, "true")...)
			})
		}
	})
	t.Run("borrowed mounts refused", func(t *testing.T) {
		// Made behind the guard's back, directly on the daemon: a container
		// binding /etc and a local volume whose device is /etc.
		donor, vol := unique("picket-test-guard-donor-"), unique("picket-test-guard-vol-")
		t.Cleanup(func() { direct("rm", "-f", donor); direct("volume", "rm", "-f", vol) })
		direct("create", "--name", donor, "-v", "/etc:/e:ro", img.Ref, "true")
		direct("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", vol)
		unixCLI.refused(t, "[sensitive-host-mount]", append(append([]string{"run", "--rm", "--volumes-from", donor}, limits...), img.Ref, "true")...)
		unixCLI.refused(t, "[sensitive-host-mount]", append(append([]string{"run", "--rm", "-v", vol + ":/x"}, limits...), img.Ref, "true")...)
		unixCLI.refused(t, "[sensitive-host-mount]", "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/root", unique("picket-test-guard-vol-"))
	})
	t.Run("logs -f streams", func(t *testing.T) {
		unixCLI.ok(t, append(append([]string{"run", "-d", "--name", name, "--user", "1000"}, limits...), img.Ref,
			"sh", "-c", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done")...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", "logs", "-f", name)
		cmd.Env = unixCLI.env
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		sc := bufio.NewScanner(stdout)
		start := time.Now()
		var lines []string
		for len(lines) < 8 && sc.Scan() {
			lines = append(lines, sc.Text())
		}
		// Lines written 0.2 s apart arrive while the container runs: the
		// chunked stream is flushed, not buffered until the end.
		if len(lines) < 8 || time.Since(start) > 15*time.Second {
			t.Fatalf("got %v after %v", lines, time.Since(start))
		}
	})
	t.Run("exec -it", func(t *testing.T) {
		if _, err := exec.LookPath("script"); err != nil {
			t.Skip("guard: script(1) not installed: " + err.Error())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "script", "-qec", "docker exec -it -u 1000 "+name+" sh -c 'tty; read x; echo got:$x'", "/dev/null")
		cmd.Env = unixCLI.env
		cmd.Stdin = strings.NewReader("typed-through-the-tty\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("exec -it: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "got:typed-through-the-tty") {
			t.Fatalf("exec -it output %q", out)
		}
	})
	t.Run("exec -i half-close", func(t *testing.T) {
		out, errOut, err := unixCLI.run(30*time.Second, "stdin data\n", "exec", "-i", "-u", "1000", name, "cat")
		if err != nil || out != "stdin data\n" {
			t.Fatalf("exec -i cat: %q %q %v", out, errOut, err)
		}
	})
	t.Run("exec as root refused", func(t *testing.T) {
		unixCLI.refused(t, "exec as root is not allowed (use --user) [exec-as-root]", "exec", "-u", "root", name, "id")
	})
	t.Run("build", func(t *testing.T) {
		dir := t.TempDir()
		bb, err := os.ReadFile("/bin/busybox")
		if err != nil {
			t.Skip("guard: busybox-static not installed: " + err.Error())
		}
		os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755)
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"echo\", \"built\"]\n"), 0o644)
		tag := unique("picket-test-guard-build-") + ":1"
		t.Cleanup(func() { direct("image", "rm", "-f", tag) })
		unixCLI.ok(t, "build", "-q", "-t", tag, dir)
		out := unixCLI.ok(t, append(append([]string{"run", "--rm"}, limits...), tag)...)
		if strings.TrimSpace(out) != "built" {
			t.Fatalf("built image printed %q", out)
		}
	})
	tcpHost := "tcp://" + g.tcpAddr
	t.Run("mTLS", func(t *testing.T) {
		alice := newCLI(t, tcpHost, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+p.clientDir(t, "alice"))
		alice.ok(t, "ps")
		out := alice.ok(t, append(append([]string{"run", "--rm"}, limits...), img.Ref, "echo", "over mTLS")...)
		if !strings.Contains(out, "over mTLS") {
			t.Fatalf("output %q", out)
		}
		alice.refused(t, "[privileged]", append(append([]string{"run", "--rm", "--privileged"}, limits...), img.Ref, "true")...)
	})
	t.Run("identity without rights gets 403", func(t *testing.T) {
		mallory := newCLI(t, tcpHost, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+p.clientDir(t, "mallory"))
		mallory.refused(t, "picket: access denied: mallory may not GET /containers/json", "ps")
	})
	t.Run("no certificate, no token", func(t *testing.T) {
		anon := newCLI(t, tcpHost, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+p.clientDir(t, ""))
		_, errOut, err := anon.run(30*time.Second, "", "ps")
		if err == nil || !strings.Contains(errOut, "authentication required") {
			t.Fatalf("anonymous ps: %v %q", err, errOut)
		}
	})
	t.Run("bearer token", func(t *testing.T) {
		ci := newCLI(t, tcpHost, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+p.clientDir(t, ""))
		cfgDir := strings.TrimPrefix(ci.env[1], "DOCKER_CONFIG=")
		os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"HttpHeaders":{"Authorization":"Bearer `+token+`"}}`), 0o600)
		ci.ok(t, "ps")
		os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"HttpHeaders":{"Authorization":"Bearer wrong"}}`), 0o600)
		_, errOut, err := ci.run(30*time.Second, "", "ps")
		if err == nil || !strings.Contains(errOut, "unknown bearer token") {
			t.Fatalf("wrong token: %v %q", err, errOut)
		}
	})
	t.Run("audit log verifies and records decisions", func(t *testing.T) {
		g.FlushAudit()
		res, err := audit.VerifyFile(g.auditLog)
		if err != nil || !res.OK() {
			t.Fatalf("verify: %+v %v", res, err)
		}
		data, _ := os.ReadFile(g.auditLog)
		var sawPrivDeny, sawCreateAllow, sawMallory, sawHijack bool
		for _, ln := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(ln), &r); err != nil {
				t.Fatal(err)
			}
			switch {
			case r["rule"] == "privileged" && r["decision"] == "deny" && r["identity"] == "alice" && r["status"] == 403.0:
				sawPrivDeny = true
			case r["action"] == "container.create" && r["decision"] == "allow" && r["image"] == img.Ref:
				sawCreateAllow = true
			case r["identity"] == "mallory" && r["rule"] == "acl" && r["status"] == 403.0:
				sawMallory = true
			case r["action"] == "exec.start" && r["status"] == 101.0:
				sawHijack = true
			}
		}
		if !sawPrivDeny || !sawCreateAllow || !sawMallory || !sawHijack {
			t.Fatalf("audit lacks records: privileged deny %v, create allow %v, mallory 403 %v, exec 101 %v\n%s",
				sawPrivDeny, sawCreateAllow, sawMallory, sawHijack, data)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		rec := httptest.NewRecorder()
		g.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		for _, want := range []string{
			`picket_guard_docker_denials_total{rule="privileged"} 2`,
			`picket_guard_docker_denials_total{rule="acl"} 1`,
			`picket_guard_docker_requests_total{decision="allow",endpoint="container.create"}`,
			`picket_guard_docker_decision_seconds_bucket`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestScanResultStore: with a scan result store, a container runs only
// from an image whose last report is there and has no critical finding.
func TestScanResultStore(t *testing.T) {
	needDocker(t)
	img := testimage.RequireBusybox(t)
	dir := t.TempDir()
	store, err := NewScanStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := startGuard(t, guardSetup{access: "unix: {uids: {0: alice}}\n", opts: []Option{WithScanStore(store)}})
	c := newCLI(t, "unix://"+g.sock)
	id := img.ID
	if !strings.HasPrefix(id, "sha256:") {
		id = "sha256:" + id
	}
	report := func(sev ...string) {
		var fs []string
		for i, s := range sev {
			fs = append(fs, fmt.Sprintf(`{"kind":"vulnerability","severity":%q,"ruleId":"CVE-2099-%d","title":"t"}`, s, i))
		}
		js := fmt.Sprintf(`{"schemaVersion":1,"createdAt":%q,"target":{"name":%q,"kind":"image","imageId":%q},"findings":[%s]}`,
			time.Now().UTC().Format(time.RFC3339), img.Ref, id, strings.Join(fs, ","))
		if err := os.WriteFile(filepath.Join(dir, strings.TrimPrefix(id, "sha256:")+".json"), []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append(append([]string{"run", "--rm"}, limits...), img.Ref, "true")
	c.refused(t, "the image has no scan result or its last scan has critical findings (picket scan image) [image-scan]", args...)
	report("HIGH", "CRITICAL")
	c.refused(t, "[image-scan]", args...)
	report("HIGH", "LOW")
	c.ok(t, args...)
}
