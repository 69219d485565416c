package registry_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/guard/registry"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/testregistry"
)

// Test users: name -> password. Their roles are in the policy below.
var users = map[string]string{
	"admin": "admin-pw-1", "maint": "maint-pw-1", "dev": "dev-pw-1", "scanner": "scanner-pw-1",
	"prod": "prod-pw-1", "guest": "guest-pw-1",
}

// env is a running upstream registry with a guard in front of it.
type env struct {
	t        *testing.T
	ns       string // repository namespace of this test
	upstream *testregistry.Registry
	guard    *registry.Guard
	srv      *httptest.Server
	host     string // guard "127.0.0.1:PORT"
	auditLog string
	key      *ecdsa.PrivateKey // cosign signing key (trusted by the gate)
	tokenKey *ecdsa.PrivateKey // the guard's token signing key
	dir      string
	hooks    *hookSink
}

type envOpts struct {
	scanner registry.ImageScanner
	extra   string // appended to the policy YAML
	// extraFor returns more policy YAML for the test's namespace.
	extraFor func(ns string) string
	// upstreamAuth protects the upstream with basic auth; the guard gets
	// upUser/upPass as its upstream credentials.
	upstreamAuth   bool
	upUser, upPass string
	// upstreamURL puts the guard in front of this URL instead of a
	// registry of its own; ns sets the namespace.
	upstreamURL, ns string
	// blobStorage serves blobs from the upstream's storage directory.
	blobStorage bool
}

// newEnv starts Debian's docker-registry and a guard on loopback. The
// policy grants, in namespace ns: dev developer, maint maintainer, prod
// production, scanner scanner, admin admin; guest is a guest of ns/public*.
func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (starts a registry): skipped with -short")
	}
	e := &env{t: t, dir: t.TempDir(), ns: "picket-test-registry-" + randHex(4)}
	if o.ns != "" {
		e.ns = o.ns
	}
	upstreamURL := o.upstreamURL
	switch {
	case upstreamURL != "":
	case o.upstreamAuth:
		e.upstream = testregistry.Start(t, testregistry.WithAuth("guard-upstream", "upstream-pw-1"))
	default:
		e.upstream = testregistry.Start(t)
	}
	if e.upstream != nil {
		upstreamURL = e.upstream.URL()
	}
	var ht strings.Builder
	for u, p := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&ht, "%s:%s\n", u, h)
	}
	writeFile(t, filepath.Join(e.dir, "htpasswd"), ht.String())
	var err error
	if e.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
	writeFile(t, filepath.Join(e.dir, "cosign.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if e.tokenKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	e.hooks = newHookSink(t)
	if o.extraFor != nil {
		o.extra += o.extraFor(e.ns)
	}
	policy := fmt.Sprintf(`service: picket-test
htpasswd: %[2]s/htpasswd
public: ["%[1]s/public*"]
grants:
  - {subjects: [admin], role: admin, repositories: ["**"]}
  - {subjects: [maint], role: maintainer, repositories: ["%[1]s/**"]}
  - {subjects: [dev], role: developer, repositories: ["%[1]s/**"]}
  - {subjects: [scanner], role: scanner, repositories: ["**"]}
  - {subjects: [prod, "cert:node-01"], role: production, repositories: ["%[1]s/**"]}
  - {subjects: [guest], role: guest, repositories: ["%[1]s/**"]}
immutable_tags:
  - {repositories: ["%[1]s/app", "%[1]s/release/**"], tags: ["v*"]}
gate:
  signatures:
    keys: [%[2]s/cosign.pub]
webhooks:
  - {url: %[3]s}
%[4]s`, e.ns, e.dir, e.hooks.srv.URL, o.extra)
	writeFile(t, filepath.Join(e.dir, "policy.yaml"), policy)
	cfg, err := registry.LoadConfig(filepath.Join(e.dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e.auditLog = filepath.Join(e.dir, "audit.jsonl")
	aw, err := audit.Open(e.auditLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aw.Close() })
	opts := registry.Options{Upstream: upstreamURL, Config: cfg, ConfigPath: filepath.Join(e.dir, "policy.yaml"),
		StateDir: filepath.Join(e.dir, "state"), SigningKey: e.tokenKey, Audit: aw, Scanner: o.scanner,
		ScanTimeout: 2 * time.Minute, UpstreamUsername: o.upUser, UpstreamPassword: o.upPass}
	if o.blobStorage {
		opts.BlobStorage = e.upstream.StorageDir()
	}
	if e.guard, err = registry.New(opts); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.guard)
	e.host = strings.TrimPrefix(e.srv.URL, "http://")
	t.Cleanup(func() {
		e.srv.Close()
		e.guard.Close()
	})
	return e
}

func (e *env) ref(repo string) string { return e.host + "/" + e.ns + "/" + repo }

func (e *env) waitScans() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.guard.WaitIdle(ctx); err != nil {
		e.t.Fatalf("scans did not finish: %v", err)
	}
}

// auditLines returns the audit log's records.
func (e *env) auditLines() []map[string]any {
	e.t.Helper()
	f, err := os.Open(e.auditLog)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := map[string]any{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			e.t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// findAudit returns the first audit record for which all fields match
// (string values: substring match).
func (e *env) findAudit(want map[string]string) map[string]any {
	e.t.Helper()
	for _, l := range e.auditLines() {
		ok := true
		for k, v := range want {
			s := fmt.Sprint(l[k])
			if !strings.Contains(s, v) {
				ok = false
				break
			}
		}
		if ok {
			return l
		}
	}
	e.t.Errorf("no audit record with %v", want)
	return nil
}

func (e *env) verifyAudit() {
	e.t.Helper()
	res, err := audit.VerifyFile(e.auditLog)
	if err != nil {
		e.t.Fatalf("audit.VerifyFile: %v", err)
	}
	if !res.OK() {
		e.t.Fatalf("audit chain broken: %+v", res)
	}
}

// token fetches a token for user with scopes from the guard's endpoint.
func (e *env) token(user string, scopes ...string) string {
	e.t.Helper()
	q := url.Values{"service": {"picket-test"}, "scope": scopes}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/token?"+q.Encode(), nil)
	req.SetBasicAuth(user, users[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		e.t.Fatalf("token for %s: %s", user, resp.Status)
	}
	return out.Token
}

// do sends a request with a bearer token (or none) and returns the status
// and body.
func (e *env) do(method, path, tok string, body []byte, hdr map[string]string) (int, string) {
	e.t.Helper()
	resp, b := e.request(method, path, tok, body, hdr)
	return resp.StatusCode, string(b)
}

// request sends one request to the guard and returns the response with its
// body read.
func (e *env) request(method, path, tok string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	// Keep the path exactly as written (no cleaning, no re-encoding).
	req.URL.Opaque = "//" + e.host + path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL.Opaque = "//" + e.host + path[:i]
		req.URL.RawQuery = path[i+1:]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// remoteOpts are go-containerregistry options logging in to the guard as
// user through the token flow.
func (e *env) remoteOpts(user string) []remote.Option {
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: user, Password: users[user]})}
}

func (e *env) parse(ref string) name.Reference {
	e.t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// sign signs digest in repo the way cosign does (registry.SignatureImage)
// and pushes the signature, as user, through the guard, to the
// sha256-<hex>.sig tag.
func (e *env) sign(repo string, digest v1.Hash, key *ecdsa.PrivateKey, user string) {
	e.t.Helper()
	img, err := registry.SignatureImage(e.ref(repo), digest.String(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	ref := e.parse(e.ref(repo) + ":" + registry.SignatureTag(digest.String()))
	if err := remote.Write(ref, img, e.remoteOpts(user)...); err != nil {
		e.t.Fatalf("pushing signature: %v", err)
	}
}

// hookSink receives webhook CloudEvents.
type hookSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []registry.CloudEvent
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev registry.CloudEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || r.Header.Get("Content-Type") != "application/cloudevents+json; charset=utf-8" {
			http.Error(w, "bad event", 400)
			return
		}
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the first event of type typ whose data mentions sub.
func (h *hookSink) wait(t *testing.T, typ, sub string) registry.CloudEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, ev := range h.events {
			b, _ := json.Marshal(ev.Data)
			if ev.Type == registry.EventTypePrefix+typ && strings.Contains(string(b), sub) {
				h.mu.Unlock()
				return ev
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no %s webhook event mentioning %q", typ, sub)
	return registry.CloudEvent{}
}

// heldScanner delays scans until released, so a test can observe the
// "not scanned yet" state without racing the queue.
type heldScanner struct {
	inner   registry.ImageScanner
	release chan struct{}
	once    sync.Once
}

func (h *heldScanner) Scan(ctx context.Context, ref string) (*report.Report, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.inner.Scan(ctx, ref)
}

func (h *heldScanner) Release() { h.once.Do(func() { close(h.release) }) }

func writeFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sharedPath returns a path under ../shared, skipping when it is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

// tool finds a command in PATH or GOPATH/bin, skipping when it is missing.
func tool(t testing.TB, name, hint string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not found (%s)", name, hint)
	return ""
}

// craneTool returns crane: from PATH or GOPATH/bin, else installed with `go
// install` at the go-containerregistry version of go.mod into a cache
// directory (skipping when that is impossible, e.g. offline).
func craneTool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("crane"); err == nil {
		return p
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/google/go-containerregistry").Output()
	if err != nil {
		t.Skipf("crane not found and go list failed: %v", err)
	}
	version := strings.TrimSpace(string(out))
	dir := filepath.Join(os.TempDir(), "picket-test-tools", "crane-"+version)
	bin := filepath.Join(dir, "crane")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/google/go-containerregistry/cmd/crane@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("crane not found and go install crane@%s failed: %v\n%s", version, err, b)
	}
	return bin
}

// run runs a command with DOCKER_CONFIG=cfgDir and returns its combined
// output and error.
func run(t testing.TB, cfgDir string, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfgDir)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
