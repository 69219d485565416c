package docker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/audit"
)

const dockerSock = "/var/run/docker.sock"

// needDocker skips when the machine's Docker Engine is not reachable.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("guard: -short: needs the Docker Engine")
	}
	c, err := net.DialTimeout("unix", dockerSock, 2*time.Second)
	if err != nil {
		t.Skip("guard: Docker Engine not reachable: " + err.Error())
	}
	c.Close()
}

// testGuard is a guard serving on a unix socket (and optionally TCP+TLS)
// in front of the real daemon.
type testGuard struct {
	*Guard
	sock     string
	tcpAddr  string
	auditLog string
	srv      *http.Server
}

type guardSetup struct {
	access string // access file YAML
	tls    *tls.Config
	opts   []Option
	server func(*http.Server)
}

func startGuard(t *testing.T, s guardSetup) *testGuard {
	t.Helper()
	up, err := NewUpstream("unix://" + dockerSock)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := LoadPolicy(true)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := ParseAccess("access.yaml", []byte(s.access))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tg := &testGuard{sock: filepath.Join(dir, "guard.sock"), auditLog: filepath.Join(dir, "audit.log")}
	aw, err := audit.Open(tg.auditLog, audit.WithSync(audit.SyncNone))
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]Option{WithAccess(acc), WithAudit(aw), WithUIDLookup(LookupUID)}, s.opts...)
	tg.Guard = New(up, pol, opts...)
	ls := []net.Listener{}
	l, err := Listen("unix://"+tg.sock, 0o600, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls = append(ls, l)
	if s.tls != nil {
		tl, err := Listen("tcp://127.0.0.1:0", 0, -1, s.tls)
		if err != nil {
			t.Fatal(err)
		}
		tg.tcpAddr = tl.Addr().String()
		ls = append(ls, tl)
	}
	tg.srv = NewServer(tg.Guard)
	if s.server != nil {
		s.server(tg.srv)
	}
	for _, l := range ls {
		go tg.srv.Serve(l)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tg.srv.Shutdown(ctx)
		tg.Guard.Close()
		aw.Close()
		up.Close()
	})
	return tg
}

// pki is a throw-away CA with server and client certificates on disk.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  string
	server tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "picket test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.caPEM = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caPEM, "CERTIFICATE", der)
	certFile, keyFile := p.issue(t, "server", "localhost", nil, true)
	p.server, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// issue writes NAME-cert.pem and NAME-key.pem for a certificate with the
// given CN and organisations (groups).
func (p *pki) issue(t *testing.T, name, cn string, orgs []string, server bool) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(p.dir, name+"-cert.pem"), filepath.Join(p.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

// clientDir lays out a DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) for
// one client identity; without cn, only ca.pem.
func (p *pki) clientDir(t *testing.T, cn string, orgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	ca, _ := os.ReadFile(p.caPEM)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600)
	if cn != "" {
		c, k := p.issue(t, "client-"+cn, cn, orgs, false)
		cb, _ := os.ReadFile(c)
		kb, _ := os.ReadFile(k)
		os.WriteFile(filepath.Join(dir, "cert.pem"), cb, 0o600)
		os.WriteFile(filepath.Join(dir, "key.pem"), kb, 0o600)
	}
	return dir
}

func (p *pki) serverTLS(t *testing.T, optional bool) *tls.Config {
	t.Helper()
	cfg, err := TLSFiles{Cert: filepath.Join(p.dir, "server-cert.pem"), Key: filepath.Join(p.dir, "server-key.pem"), ClientCA: p.caPEM, ClientCertOptional: optional}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
