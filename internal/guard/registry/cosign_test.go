package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyPayload(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := "sha256:" + strings.Repeat("c", 64)
	payload := func(d, typ string) []byte {
		return []byte(`{"critical":{"identity":{"docker-reference":"r/app"},"image":{"docker-manifest-digest":"` + d + `"},"type":"` + typ + `"},"optional":null}`)
	}
	sign := func(k *ecdsa.PrivateKey, p []byte) string {
		sum := sha256.Sum256(p)
		s, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return base64.StdEncoding.EncodeToString(s)
	}
	good := payload(digest, CosignSignatureType)
	wrongDigest := payload("sha256:"+strings.Repeat("d", 64), CosignSignatureType)
	wrongType := payload(digest, "something else")
	tests := []struct {
		name    string
		payload []byte
		sig     string
		want    string
	}{
		{"valid", good, sign(key, good), ""},
		{"other key", good, sign(other, good), "does not verify"},
		{"payload for another digest", wrongDigest, sign(key, wrongDigest), "signs sha256:ddd"},
		{"wrong type", wrongType, sign(key, wrongType), "payload type"},
		{"payload edited after signing", append(append([]byte{}, good...), ' '), sign(key, good), "does not verify"},
		{"not base64", good, "%%%", "not base64"},
		{"not JSON", []byte("hello"), sign(key, []byte("hello")), "simple-signing"},
	}
	for _, tc := range tests {
		err := VerifyPayload(tc.payload, tc.sig, digest, []*ecdsa.PublicKey{&key.PublicKey})
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadPublicKeys(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	ok := write("ok.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if keys, err := LoadPublicKeys([]string{ok}); err != nil || len(keys) != 1 {
		t.Fatalf("%v", err)
	}
	for name, b := range map[string][]byte{
		"p384.pub":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der384}),
		"cert.pem":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"empty.pub": nil,
	} {
		if _, err := LoadPublicKeys([]string{write(name, b)}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestGatePolicy(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.yaml")
	os.WriteFile(user, []byte(`rules:
  - id: no-high-vulnerabilities
    enabled: false
  - id: fresh-database
    message: vulnerability data older than a day
    condition: verdict.db_age_hours < 0.0 || verdict.db_age_hours > 24.0
    action: deny
  - id: no-fixable-highs
    message: fixable high vulnerabilities
    condition: verdict.findings.exists(f, f.kind == "vulnerability" && f.severity == "HIGH" && "fixedVersion" in f.attributes)
    action: deny
    exceptions: ['image.repository.startsWith("legacy/")']
  - id: prod-needs-signature
    condition: image.repository.startsWith("prod/") && !image.signed
    action: warn
`), 0o600)
	p, err := LoadGatePolicy(user)
	if err != nil {
		t.Fatal(err)
	}
	v := &Verdict{Vulnerabilities: map[string]int{"HIGH": 3}, Findings: []VerdictFinding{{Kind: "vulnerability", Severity: "HIGH", ID: "CVE-1"}}}
	got, err := p.Evaluate(context.Background(), GateInput{Repository: "prod/app", Verdict: v})
	if err != nil || len(got) != 1 || !strings.Contains(got[0], "[fresh-database]") {
		t.Errorf("got %q, %v", got, err)
	}
	v.Findings[0].Attrs = map[string]string{"fixedVersion": "1.2"}
	got, _ = p.Evaluate(context.Background(), GateInput{Repository: "prod/app", Verdict: v})
	if len(got) != 2 || !strings.Contains(got[1], "[no-fixable-highs]") {
		t.Errorf("fixable high: got %q", got)
	}
	if got, _ = p.Evaluate(context.Background(), GateInput{Repository: "legacy/app", Verdict: v}); len(got) != 1 {
		t.Errorf("exception: got %q", got)
	}
	v.Findings[0].Attrs = nil
	v.Vulnerabilities["CRITICAL"] = 1
	v.Findings = append(v.Findings, VerdictFinding{Kind: "vulnerability", Severity: "CRITICAL", ID: "CVE-2"})
	got, _ = p.Evaluate(context.Background(), GateInput{Repository: "x", Verdict: v})
	if len(got) != 2 || !strings.Contains(got[0], "1 CRITICAL (CVE-2)") {
		t.Errorf("got %q", got)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    condition: verdict.critical >\n    action: deny\n"), 0o600)
	if _, err := LoadGatePolicy(bad); err == nil {
		t.Error("syntax error accepted")
	}
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    condition: 'true'\n    action: explode\n"), 0o600)
	if _, err := LoadGatePolicy(bad); err == nil || !strings.Contains(err.Error(), "want deny or warn") {
		t.Errorf("bad action: %v", err)
	}
}

// SignatureImage makes what VerifyPayload accepts: the layer's payload with
// the signature in its annotation, signed by the key and for the digest.
func TestSignatureImageVerifies(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := "sha256:" + strings.Repeat("e", 64)
	img, err := SignatureImage("registry.example/team/app", digest, key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil || len(m.Layers) != 1 || m.Layers[0].MediaType != CosignPayloadMediaType {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := io.ReadAll(rc)
	sig := m.Layers[0].Annotations[CosignSignatureAnnotation]
	if err := VerifyPayload(payload, sig, digest, []*ecdsa.PublicKey{&key.PublicKey}); err != nil {
		t.Errorf("does not verify: %v", err)
	}
	if err := VerifyPayload(payload, sig, digest, []*ecdsa.PublicKey{&other.PublicKey}); err == nil {
		t.Error("verifies with another key")
	}
	if err := VerifyPayload(payload, sig, "sha256:"+strings.Repeat("f", 64), []*ecdsa.PublicKey{&key.PublicKey}); err == nil {
		t.Error("verifies for another digest")
	}
}
