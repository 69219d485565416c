package registry_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/picket-cdr/picket/internal/guard/registry"
	"github.com/picket-cdr/picket/internal/testimage"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// TestDockerAndCraneFlow drives the guard with the real docker CLI (through
// the machine's Docker Engine) and crane, in front of Debian's
// docker-registry, with Picket's real scanner and the Alpine secdb.
func TestDockerAndCraneFlow(t *testing.T) {
	docker := tool(t, "docker", "install the docker CLI")
	crane := craneTool(t)
	busybox := testimage.RequireBusybox(t)
	alpineGz := sharedPath(t, "images/alpine-3.10-docker-save.tar.gz")
	dbDir := t.TempDir()
	if _, err := vulndb.Import(dbDir, sharedPath(t, "data/secdb/alpine/v3.10")); err != nil {
		t.Fatal(err)
	}
	held := &heldScanner{inner: &registry.EngineScanner{DBDir: dbDir, Insecure: true}, release: make(chan struct{})}
	e := newEnv(t, envOpts{scanner: held})
	t.Cleanup(held.Release)

	login := func(user string) string {
		cfg := t.TempDir()
		out, err := run(t, cfg, users[user]+"\n", docker, "login", e.host, "-u", user, "--password-stdin")
		if err != nil || !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("docker login as %s: %v\n%s", user, err, out)
		}
		return cfg
	}
	tag := func(ref string) {
		if out, err := run(t, t.TempDir(), "", docker, "tag", busybox.Ref, ref); err != nil {
			t.Fatalf("docker tag: %v\n%s", err, out)
		}
		t.Cleanup(func() { run(t, t.TempDir(), "", docker, "rmi", ref) })
	}

	// docker login as a developer, push.
	devCfg := login("dev")
	e.findAudit(map[string]string{"identity": "dev", "action": "login", "decision": "allow"})
	app := e.ref("app:v1")
	tag(app)
	if out, err := run(t, devCfg, "", docker, "push", app); err != nil {
		t.Fatalf("docker push as developer: %v\n%s", err, out)
	}
	e.findAudit(map[string]string{"identity": "dev", "action": "push", "method": "PUT", "decision": "allow", "repository": e.ns + "/app", "reference": "v1"})
	e.hooks.wait(t, registry.EventPush, e.ns+"/app")

	// A guest may not push, not even to a public repository.
	guestCfg := login("guest")
	pub := e.ref("public-app:v1")
	tag(pub)
	out, err := run(t, guestCfg, "", docker, "push", pub)
	if err == nil {
		t.Fatalf("docker push as guest succeeded:\n%s", out)
	}
	t.Logf("guest push refused: %s", lastLine(out))
	e.findAudit(map[string]string{"identity": "guest", "decision": "deny", "repository": e.ns + "/public-app"})

	// Production: refused while the image is not scanned, then while it
	// is not signed, allowed once scanned clean and signed.
	prodCfg := login("prod")
	run(t, t.TempDir(), "", docker, "rmi", app)
	out, err = run(t, prodCfg, "", docker, "pull", app)
	if err == nil || !strings.Contains(out, "has not been scanned yet") {
		t.Fatalf("production pull of an unscanned image: err %v\n%s", err, out)
	}
	e.findAudit(map[string]string{"identity": "prod", "action": "pull", "decision": "deny", "reason": "not been scanned"})
	held.Release()
	e.waitScans()
	e.findAudit(map[string]string{"identity": "picket-scanner", "action": "scan", "decision": "ok", "repository": e.ns + "/app"})
	out, err = run(t, prodCfg, "", docker, "pull", app)
	if err == nil || !strings.Contains(out, "signature required") {
		t.Fatalf("production pull of an unsigned image: err %v\n%s", err, out)
	}
	t.Logf("unsigned pull refused: %s", lastLine(out))
	e.findAudit(map[string]string{"identity": "prod", "decision": "deny", "reason": "no cosign signature"})
	e.hooks.wait(t, registry.EventDeny, "signature")

	desc, err := remote.Head(e.parse(app), e.remoteOpts("dev")...)
	if err != nil {
		t.Fatal(err)
	}
	// A signature by an untrusted key does not count.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.sign("app", desc.Digest, other, "dev")
	out, err = run(t, prodCfg, "", docker, "pull", app)
	if err == nil || !strings.Contains(out, "does not verify with any trusted key") {
		t.Fatalf("production pull with an untrusted signature: err %v\n%s", err, out)
	}
	e.sign("app", desc.Digest, e.key, "dev")
	if out, err := run(t, prodCfg, "", docker, "pull", app); err != nil {
		t.Fatalf("production pull of a clean signed image: %v\n%s", err, out)
	}
	// docker HEADs the manifest and finds the image's layers present.
	e.findAudit(map[string]string{"identity": "prod", "action": "pull", "decision": "allow", "digest": desc.Digest.String(), "path": "/manifests/v1"})

	// alpine:3.10.4, pushed with crane and signed, is clean against the
	// Alpine secdb: production may pull it. Then the database learns of a
	// critical musl vulnerability (a test OSV record); after the rescan
	// (admin API, as `picket guard registry rescan` calls it) the same pull
	// is refused with the reason.
	craneCfg := t.TempDir()
	if out, err := run(t, craneCfg, "", crane, "auth", "login", e.host, "-u", "dev", "-p", users["dev"]); err != nil {
		t.Fatalf("crane auth login: %v\n%s", err, out)
	}
	alpineTar := testimage.Gunzip(t, alpineGz)
	vuln := e.ref("alpine:3.10")
	if out, err := run(t, craneCfg, "", crane, "push", "--insecure", alpineTar, vuln); err != nil {
		t.Fatalf("crane push as developer: %v\n%s", err, out)
	}
	e.waitScans()
	vdesc, err := remote.Head(e.parse(vuln), e.remoteOpts("dev")...)
	if err != nil {
		t.Fatal(err)
	}
	e.sign("alpine", vdesc.Digest, e.key, "dev")
	prodCrane := t.TempDir()
	if out, err := run(t, prodCrane, "", crane, "auth", "login", e.host, "-u", "prod", "-p", users["prod"]); err != nil {
		t.Fatalf("crane auth login: %v\n%s", err, out)
	}
	if out, err := run(t, prodCrane, "", crane, "pull", "--insecure", vuln, filepath.Join(t.TempDir(), "x.tar")); err != nil {
		t.Fatalf("production pull of clean signed alpine: %v\n%s", err, out)
	}
	e.hooks.wait(t, registry.EventPull, e.ns+"/alpine")
	if _, err := vulndb.Import(dbDir, "testdata/osv-alpine"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/-/picket/rescan", nil)
	req.SetBasicAuth("admin", users["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rescan: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	e.waitScans()
	out, err = run(t, prodCrane, "", crane, "pull", "--insecure", vuln, filepath.Join(t.TempDir(), "x.tar"))
	if err == nil || !strings.Contains(out, "violates the pull policy") || !strings.Contains(out, "PICKET-TEST-0001") {
		for _, l := range e.auditLines() {
			t.Logf("audit: %v", l)
		}
		t.Fatalf("production pull of a vulnerable image: err %v\n%s", err, out)
	}
	t.Logf("vulnerable pull refused: %s", lastLine(out))
	e.findAudit(map[string]string{"identity": "prod", "decision": "deny", "reason": "no-critical-vulnerabilities", "repository": e.ns + "/alpine"})
	if t.Failed() {
		for _, l := range e.auditLines() {
			t.Logf("audit: %v", l)
		}
	}
	e.findAudit(map[string]string{"identity": "admin", "action": "rescan", "decision": "allow"})

	// The scanner identity is never gated.
	scanCrane := t.TempDir()
	if out, err := run(t, scanCrane, "", crane, "auth", "login", e.host, "-u", "scanner", "-p", users["scanner"]); err != nil {
		t.Fatalf("crane auth login: %v\n%s", err, out)
	}
	if out, err := run(t, scanCrane, "", crane, "pull", "--insecure", vuln, filepath.Join(t.TempDir(), "x.tar")); err != nil {
		t.Fatalf("scanner pull of a vulnerable image: %v\n%s", err, out)
	}
	e.findAudit(map[string]string{"identity": "scanner", "action": "pull", "decision": "allow", "repository": e.ns + "/alpine"})
	e.verifyAudit()

	rec := httptest.NewRecorder()
	e.guard.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, m := range []string{`picket_registry_guard_denials_total{reason="gate"}`, `picket_registry_guard_scans_total{result="ok"} 4`} {
		if !strings.Contains(rec.Body.String(), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
