package registry_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// certFor issues a client certificate for cn, signed by ca (self-signed
// when ca is nil).
func certFor(t *testing.T, cn string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IsCA: isCA, BasicConstraintsValid: true}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMTLSIdentity: behind TLS with a client CA, a verified certificate's
// CN is the identity at the token endpoint; an unknown CA's certificate is
// refused in the handshake; no certificate and no password is anonymous.
func TestMTLSIdentity(t *testing.T) {
	e := newEnv(t, envOpts{})
	ca, caKey, _ := certFor(t, "picket-test-ca", nil, nil, true)
	_, _, prodCert := certFor(t, "node-01", ca, caKey, false)
	// A certificate named like a password user gets nothing of that user.
	_, _, adminCert := certFor(t, "admin", ca, caKey, false)
	rogueCA, rogueKey, _ := certFor(t, "rogue-ca", nil, nil, true)
	_, _, rogue := certFor(t, "prod", rogueCA, rogueKey, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(e.guard)
	srv.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	client := func(cert *tls.Certificate) *http.Client {
		c := srv.Client()
		tr := c.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = nil
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }
		if cert != nil {
			// Always present it, even when the server's CA list does not
			// name its issuer.
			tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		c.Transport = tr
		return c
	}
	u := srv.URL + "/token?service=picket-test&scope=repository:" + e.ns + "/app:pull,push"
	resp, err := client(&prodCert).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || out.Token == "" {
		t.Fatalf("mTLS token: %s", resp.Status)
	}
	rec := e.findAudit(map[string]string{"identity": "cert:node-01", "auth_method": "mtls", "action": "token"})
	if rec != nil && !strings.Contains(rec["reason"].(string), "repository:"+e.ns+"/app:pull]") {
		t.Errorf("production got more than pull: %v", rec["reason"])
	}
	resp, err = client(&adminCert).Get(srv.URL + "/token?service=picket-test&scope=registry:catalog:*")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.findAudit(map[string]string{"identity": "cert:admin", "action": "token", "reason": "granted []"})
	if resp, err := client(&rogue).Get(u); err == nil {
		resp.Body.Close()
		t.Errorf("certificate from an unknown CA accepted: %s", resp.Status)
	}
	resp, err = client(nil).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no certificate, no password: %s", resp.Status)
	}
}

// TestUpstreamCredentials: the guard authenticates to a protected upstream
// with its own credentials; with wrong ones clients get a 502 naming the
// upstream, not the upstream's challenge.
func TestUpstreamCredentials(t *testing.T) {
	img, _ := random.Image(256, 1)
	good := newEnv(t, envOpts{upstreamAuth: true, upUser: "guard-upstream", upPass: "upstream-pw-1"})
	if err := remote.Write(good.parse(good.ref("app:1")), img, good.remoteOpts("dev")...); err != nil {
		t.Fatalf("push through a guard with upstream credentials: %v", err)
	}
	bad := newEnv(t, envOpts{upstreamAuth: true, upUser: "guard-upstream", upPass: "wrong"})
	tok := bad.token("dev", "repository:"+bad.ns+"/app:pull")
	status, body := bad.do("GET", "/v2/"+bad.ns+"/app/tags/list", tok, nil, nil)
	if status != http.StatusBadGateway || !strings.Contains(body, "could not authenticate to the upstream") {
		t.Errorf("wrong upstream credentials: %d %s", status, body)
	}
	bad.findAudit(map[string]string{"identity": "dev", "reason": "upstream authentication failed"})
}

// TestTokenAuthUpstream puts a guard in front of another guard: the outer
// one authenticates to the inner one through the distribution token flow
// (what Harbor, GitLab and cloud registries ask for), with a token per
// repository scope.
func TestTokenAuthUpstream(t *testing.T) {
	inner := newEnv(t, envOpts{})
	outer := newEnv(t, envOpts{upstreamURL: inner.srv.URL, ns: inner.ns, upUser: "dev", upPass: users["dev"]})
	img, _ := random.Image(512, 2)
	if err := remote.Write(outer.parse(outer.ref("app:1")), img, outer.remoteOpts("maint")...); err != nil {
		t.Fatalf("push through two guards: %v", err)
	}
	got, err := remote.Image(outer.parse(outer.ref("app:1")), outer.remoteOpts("maint")...)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
	// The outer guard audits its client; the inner one sees the outer
	// guard's upstream identity, with a token scoped to the repository.
	outer.findAudit(map[string]string{"identity": "maint", "action": "push", "method": "PUT", "decision": "allow", "reference": "1"})
	inner.findAudit(map[string]string{"identity": "dev", "action": "push", "method": "PUT", "decision": "allow", "reference": "1"})
	inner.findAudit(map[string]string{"identity": "dev", "action": "token", "reason": "repository:" + inner.ns + "/app:pull,push]"})
}
