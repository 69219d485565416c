package registry_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// TestBadInput sends hostile requests through the guard to a real
// registry: every one is refused with a clear OCI error and audited.
func TestBadInput(t *testing.T) {
	past, _ := bcrypt.GenerateFromPassword([]byte("robot-secret-old"), bcrypt.MinCost)
	live, _ := bcrypt.GenerateFromPassword([]byte("robot-secret-live"), bcrypt.MinCost)
	extraFor := func(ns string) string {
		return fmt.Sprintf(`robots:
  - {name: old, secret_hash: '%[1]s', expires: 2020-01-01T00:00:00Z, role: developer, repositories: ["%[3]s/**"]}
  - {name: ci, secret_hash: '%[2]s', expires: 2099-01-01T00:00:00Z, role: developer, repositories: ["%[3]s/ci/**"]}
roles:
  guest: {deny: [127.0.0.0/8]}
  scanner: {rate_limit: {rate: 0.5, burst: 3}}
`, past, live, ns)
	}
	e := newEnv(t, envOpts{extraFor: extraFor})
	ns := e.ns

	// A real image in ns/app:v1 and in ns/tmp, pushed through the guard.
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"app:v1", "tmp:1"} {
		if err := remote.Write(e.parse(e.ref(r)), img, e.remoteOpts("dev")...); err != nil {
			t.Fatalf("push %s as dev: %v", r, err)
		}
	}
	digest, _ := img.Digest()
	layers, _ := img.Layers()
	layerDigest, _ := layers[0].Digest()
	// A private repository dev cannot read, for the mount test.
	if err := remote.Write(e.parse(e.host+"/private-"+ns+"/x:1"), img, e.remoteOpts("admin")...); err != nil {
		t.Fatalf("push as admin: %v", err)
	}

	pullTok := e.token("dev", "repository:"+ns+"/app:pull")
	pushTok := e.token("dev", "repository:"+ns+"/app:pull,push")
	otherTok := e.token("dev", "repository:private-"+ns+"/x:pull")
	maintDel := e.token("maint", "repository:"+ns+"/tmp:pull,delete", "repository:"+ns+"/app:pull,delete")
	devDel := e.token("dev", "repository:"+ns+"/tmp:pull,delete")
	adminCat := e.token("admin", "registry:catalog:*")
	devCat := e.token("dev", "registry:catalog:*")

	svc, err := token.New(e.tokenKey, "picket-registry-guard", "picket-test", token.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	appPull := []token.Access{{Type: "repository", Name: ns + "/app", Actions: []string{"pull"}}}
	expired, _, _, _ := svc.Issue("dev", appPull)
	wrongAud, _ := token.New(e.tokenKey, "picket-registry-guard", "another-service")
	wrongAudTok, _, _, _ := wrongAud.Issue("dev", appPull)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := token.New(otherKey, "picket-registry-guard", "picket-test")
	forged, _, _, _ := forger.Issue("admin", []token.Access{{Type: "repository", Name: ns + "/app", Actions: []string{"pull", "push", "delete"}}})
	noneTok := unsignedJWT(map[string]any{"sub": "admin", "aud": "picket-test", "iss": "picket-registry-guard", "exp": time.Now().Add(time.Hour).Unix(),
		"jti": "x", "access": appPull})
	der, _ := x509.MarshalPKIXPublicKey(&e.tokenKey.PublicKey)
	hsTok := hs256JWT(der, map[string]any{"sub": "admin", "aud": "picket-test", "iss": "picket-registry-guard", "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "jti": "x", "access": appPull})
	// A valid token whose payload is edited after signing.
	parts := strings.Split(pullTok, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(bytes.Replace(claims, []byte(ns+"/app"), []byte(ns+"/tmp"), 1)) + "." + parts[2]

	big := bytes.Repeat([]byte(" "), 5<<20)
	manifest := func(s string) []byte { return []byte(s) }
	const mt = "application/vnd.oci.image.manifest.v1+json"
	cfgDesc := `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2}`
	imgB, _ := random.Image(256, 1)
	rawB, _ := imgB.RawManifest()
	mtB, _ := imgB.MediaType()

	tests := []struct {
		name       string
		method     string
		path       string
		tok        string
		body       []byte
		hdr        map[string]string
		wantStatus int
		wantBody   string
		audit      string // substring of the audited reason
	}{
		{"dot-dot segment", "GET", "/v2/" + ns + "/../private-" + ns + "/x/manifests/1", pullTok, nil, nil, 404, "NAME_INVALID", "empty or dot segment"},
		{"encoded dot-dot", "GET", "/v2/" + ns + "/%2e%2e/private-" + ns + "/x/manifests/1", pullTok, nil, nil, 404, "NAME_INVALID", "encoded characters"},
		{"encoded slash", "GET", "/v2/" + ns + "%2fapp/manifests/v1", pullTok, nil, nil, 404, "NAME_INVALID", "encoded characters"},
		{"empty segment", "GET", "/v2/" + ns + "//app/manifests/v1", pullTok, nil, nil, 404, "NAME_INVALID", "empty or dot segment"},
		{"upper case name", "GET", "/v2/" + strings.ToUpper(ns) + "/app/manifests/v1", pullTok, nil, nil, 404, "NAME_INVALID", "invalid repository name"},
		{"bad reference", "GET", "/v2/" + ns + "/app/manifests/-v1", pullTok, nil, nil, 404, "NAME_INVALID", "invalid reference"},
		{"bad blob digest", "GET", "/v2/" + ns + "/app/blobs/sha256:xyz", pullTok, nil, nil, 404, "NAME_INVALID", "invalid digest"},
		{"unknown endpoint", "GET", "/v2/" + ns + "/app/secrets/list", pullTok, nil, nil, 404, "NAME_INVALID", "unknown endpoint"},
		{"no token", "GET", "/v2/" + ns + "/app/manifests/v1", "", nil, nil, 401, "UNAUTHORIZED", "authentication required"},
		{"garbage token", "GET", "/v2/" + ns + "/app/manifests/v1", "not-a-jwt", nil, nil, 401, "UNAUTHORIZED", "token is malformed"},
		{"expired token", "GET", "/v2/" + ns + "/app/manifests/v1", expired, nil, nil, 401, "expired", "expired"},
		{"wrong audience", "GET", "/v2/" + ns + "/app/manifests/v1", wrongAudTok, nil, nil, 401, "UNAUTHORIZED", "aud"},
		{"forged signature", "GET", "/v2/" + ns + "/app/manifests/v1", forged, nil, nil, 401, "UNAUTHORIZED", "signature is invalid"},
		{"alg none", "GET", "/v2/" + ns + "/app/manifests/v1", noneTok, nil, nil, 401, "UNAUTHORIZED", "signing method"},
		{"HS256 with the public key", "GET", "/v2/" + ns + "/app/manifests/v1", hsTok, nil, nil, 401, "UNAUTHORIZED", "signing method"},
		{"tampered claims", "GET", "/v2/" + ns + "/tmp/manifests/1", tampered, nil, nil, 401, "UNAUTHORIZED", "signature is invalid"},
		{"replay for another repository", "GET", "/v2/" + ns + "/tmp/manifests/1", pullTok, nil, nil, 401, "token does not grant pull", "does not grant pull on repository " + ns + "/tmp"},
		{"replay for another action", "PUT", "/v2/" + ns + "/app/manifests/v2", pullTok, manifest(`{}`), map[string]string{"Content-Type": mt}, 401, "token does not grant push", "does not grant push"},
		{"token for a repository not granted", "GET", "/v2/private-" + ns + "/x/manifests/1", otherTok, nil, nil, 401, "token does not grant pull", "does not grant pull"},
		{"oversized manifest", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, big, map[string]string{"Content-Type": mt}, 413, "SIZE_INVALID", "exceeds the limit"},
		{"manifest not JSON", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, manifest(`{"schemaVersion":2,`), map[string]string{"Content-Type": mt}, 400, "MANIFEST_INVALID", "not valid JSON"},
		{"schema 1 manifest", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, manifest(`{"schemaVersion":1,"name":"x","tag":"v2","fsLayers":[]}`), map[string]string{"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"}, 400, "MANIFEST_INVALID", "schemaVersion 1"},
		{"bad layer digest", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, manifest(`{"schemaVersion":2,"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}`), map[string]string{"Content-Type": mt}, 400, "MANIFEST_INVALID", "invalid digest"},
		{"media type mismatch", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, manifest(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), map[string]string{"Content-Type": mt}, 400, "MANIFEST_INVALID", "does not match"},
		{"trailing data", "PUT", "/v2/" + ns + "/app/manifests/v2", pushTok, manifest(`{"schemaVersion":2,"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[]} {}`), map[string]string{"Content-Type": mt}, 400, "MANIFEST_INVALID", "trailing data"},
		{"digest reference mismatch", "PUT", "/v2/" + ns + "/app/manifests/sha256:" + strings.Repeat("b", 64), pushTok, rawB, map[string]string{"Content-Type": string(mtB)}, 400, "MANIFEST_INVALID", "does not match the reference"},
		{"immutable tag moved", "PUT", "/v2/" + ns + "/app/manifests/v1", pushTok, rawB, map[string]string{"Content-Type": string(mtB)}, 403, "DENIED", "is immutable"},
		{"developer may not delete", "DELETE", "/v2/" + ns + "/tmp/manifests/" + digest.String(), devDel, nil, nil, 401, "token does not grant delete", "does not grant delete"},
		{"immutable tag delete", "DELETE", "/v2/" + ns + "/app/manifests/v1", maintDel, nil, nil, 403, "DENIED", "is immutable"},
		{"catalog needs admin", "GET", "/v2/_catalog", devCat, nil, nil, 401, "admin token", "admin token"},
		{"method not allowed", "POST", "/v2/" + ns + "/app/manifests/v1", pushTok, nil, nil, 405, "UNSUPPORTED", "not supported"},
		{"not a registry path", "GET", "/etc/passwd", "", nil, nil, 404, "UNSUPPORTED", "unknown path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, tc.tok, tc.body, tc.hdr)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%s %s: got %d %s, want %d with %q", tc.method, tc.path, status, truncate(body), tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus >= 400 && !strings.Contains(body, `"errors"`) {
				t.Errorf("not an OCI error body: %s", body)
			}
			e.findAudit(map[string]string{"decision": "deny", "reason": tc.audit, "path": pathOnly(tc.path)})
		})
	}

	t.Run("gated pulls of unknown or unscanned manifests", func(t *testing.T) {
		tok := e.token("prod", "repository:"+ns+"/app:pull")
		if status, body := e.do("GET", "/v2/"+ns+"/app/manifests/nope", tok, nil, nil); status != http.StatusNotFound || !strings.Contains(body, "MANIFEST_UNKNOWN") {
			t.Errorf("unknown tag: %d %s", status, body)
		}
		// This guard has no scanner: the image stays unscanned, refused.
		for _, m := range []string{"GET", "HEAD"} {
			if status, _ := e.do(m, "/v2/"+ns+"/app/manifests/v1", tok, nil, nil); status != http.StatusForbidden {
				t.Errorf("%s unscanned: %d", m, status)
			}
		}
		e.findAudit(map[string]string{"identity": "prod", "method": "GET", "decision": "deny", "reason": "has not been scanned yet", "digest": digest.String()})
	})

	t.Run("challenges", func(t *testing.T) {
		for _, c := range []struct{ tok, path, want string }{
			{"", "/v2/", `Bearer realm="` + e.srv.URL + `/token",service="picket-test"`},
			{"", "/v2/" + ns + "/app/manifests/v1", `scope="repository:` + ns + `/app:pull"`},
			{pullTok, "/v2/" + ns + "/tmp/manifests/1", `scope="repository:` + ns + `/tmp:pull",error="insufficient_scope"`},
			{expired, "/v2/" + ns + "/app/manifests/v1", `error="invalid_token"`},
		} {
			req, _ := http.NewRequest("GET", e.srv.URL+c.path, nil)
			if c.tok != "" {
				req.Header.Set("Authorization", "Bearer "+c.tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(got, c.want) {
				t.Errorf("%s: %s, WWW-Authenticate %q, want %q", c.path, resp.Status, got, c.want)
			}
		}
	})

	t.Run("allowed counterparts", func(t *testing.T) {
		raw, _ := img.RawManifest()
		mtA, _ := img.MediaType()
		for _, c := range []struct {
			name, method, path, tok string
			body                    []byte
			want                    int
		}{
			{"idempotent re-push of an immutable tag", "PUT", "/v2/" + ns + "/app/manifests/v1", pushTok, raw, http.StatusCreated},
			{"maintainer deletes by digest", "DELETE", "/v2/" + ns + "/tmp/manifests/" + digest.String(), maintDel, nil, http.StatusAccepted},
			{"admin lists the catalog", "GET", "/v2/_catalog", adminCat, nil, http.StatusOK},
		} {
			status, body := e.do(c.method, c.path, c.tok, c.body, map[string]string{"Content-Type": string(mtA)})
			if status != c.want {
				t.Errorf("%s: got %d %s, want %d", c.name, status, truncate(body), c.want)
			}
		}
	})

	t.Run("cross-repository mount without pull on the source", func(t *testing.T) {
		status, _ := e.do("POST", "/v2/"+ns+"/app/blobs/uploads/?mount="+layerDigest.String()+"&from=private-"+ns+"/x", pushTok, nil, nil)
		if status != http.StatusAccepted {
			t.Errorf("mount from an unreadable repository: got %d, want 202 (plain upload, no mount)", status)
		}
		e.findAudit(map[string]string{"identity": "dev", "reason": "cross-repository mount refused"})
	})

	t.Run("robots", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/token?service=picket-test&scope=repository:"+ns+"/app:pull", nil)
		req.SetBasicAuth("robot$old", "robot-secret-old")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("expired robot: got %s, want 401", resp.Status)
		}
		e.findAudit(map[string]string{"identity": "robot$old", "decision": "deny", "reason": "expired"})
		ci := &authn.Basic{Username: "robot$ci", Password: "robot-secret-live"}
		if err := remote.Write(e.parse(e.ref("ci/build:1")), img, remote.WithAuth(ci)); err != nil {
			t.Errorf("live robot push to its repository: %v", err)
		}
		if err := remote.Write(e.parse(e.ref("app:v9")), img, remote.WithAuth(ci)); err == nil {
			t.Error("live robot pushed outside its repositories")
		}
	})

	t.Run("guest address denied", func(t *testing.T) {
		tok := e.token("guest", "repository:"+ns+"/public-x:pull")
		status, _ := e.do("GET", "/v2/"+ns+"/public-x/manifests/1", tok, nil, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("guest from a denied address: got %d", status)
		}
		e.findAudit(map[string]string{"identity": "guest", "action": "token", "reason": "is not allowed for role guest"})
	})

	t.Run("rate limit", func(t *testing.T) {
		tok := e.token("scanner", "repository:"+ns+"/app:pull")
		limited := 0
		for range 6 {
			if status, body := e.do("GET", "/v2/"+ns+"/app/tags/list", tok, nil, nil); status == http.StatusTooManyRequests && strings.Contains(body, "TOOMANYREQUESTS") {
				limited++
			}
		}
		if limited == 0 {
			t.Error("no request was rate limited")
		}
		e.findAudit(map[string]string{"identity": "scanner", "decision": "deny", "reason": "rate limit"})
	})
	e.verifyAudit()
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

func unsignedJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// hs256JWT signs with HMAC using the public key as the secret: the
// algorithm-confusion attack.
func hs256JWT(secret []byte, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
