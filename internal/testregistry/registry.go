// Package testregistry runs a real container registry — the CNCF
// distribution registry as Debian packages it (docker-registry,
// /usr/bin/docker-registry) — for Picket's integration tests. Only _test.go
// files may import it (a test of this package enforces that).
//
// Each Start launches its own registry process on a free loopback port with
// its own temporary storage directory and a generated configuration, so tests
// neither use nor disturb a registry the machine may run as a service (the
// package's systemd unit listens on :5000). The process is stopped when the
// test ends.
//
//	func TestPull(t *testing.T) {
//		reg := testregistry.Start(t, testregistry.WithAuth("alice", "s3cret"))
//		ref := reg.Host() + "/library/alpine:3.10" // "127.0.0.1:PORT/..."
//		...
//	}
//
// When the binary is missing, Start installs the package with apt-get
// (root only, not in -short mode) and skips the test if that is impossible.
// $PICKET_DOCKER_REGISTRY names another registry binary to use.
package testregistry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// BinaryEnv names the environment variable that overrides the registry
// binary.
const BinaryEnv = "PICKET_DOCKER_REGISTRY"

// startTimeout bounds how long a registry may take to answer /v2/.
const startTimeout = 20 * time.Second

// Option configures Start.
type Option func(*config)

type config struct {
	user, pass string
	tls        bool
	ip         string
}

// WithAuth protects the registry with HTTP basic authentication (an htpasswd
// file with one bcrypt entry for user).
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithTLS serves HTTPS with a self-signed certificate for the listening IP;
// RootCAs and Transport trust it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithIP makes the registry listen on another loopback address than
// 127.0.0.1, e.g. "127.0.0.2", which go-containerregistry does not treat as
// a local plain-HTTP registry. Non-loopback addresses are refused.
func WithIP(ip string) Option { return func(c *config) { c.ip = ip } }

// Registry is a running registry process.
type Registry struct {
	host   string
	scheme string
	user   string
	pass   string
	pool   *x509.CertPool
	dir    string
	log    *syncBuffer
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	stop   *sync.Once
}

// Host returns "IP:PORT", the registry part of image references.
func (r *Registry) Host() string { return r.host }

// URL returns the registry's base URL ("http://127.0.0.1:PORT").
func (r *Registry) URL() string { return r.scheme + "://" + r.host }

// Ref returns Host()+"/"+repo, e.g. Ref("library/alpine:3.10").
func (r *Registry) Ref(repo string) string { return r.host + "/" + repo }

// Credentials returns the user and password given to WithAuth.
func (r *Registry) Credentials() (user, pass string) { return r.user, r.pass }

// RootCAs returns a pool trusting the registry's certificate, nil without
// WithTLS.
func (r *Registry) RootCAs() *x509.CertPool { return r.pool }

// Transport returns an HTTP transport that trusts the registry's certificate
// (for go-containerregistry's remote.WithTransport).
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: r.pool}
	}
	return tr
}

// StorageDir returns the registry's storage root directory.
func (r *Registry) StorageDir() string { return r.dir }

// Log returns what the registry has written so far (its log and access
// log), e.g. to count the requests it served.
func (r *Registry) Log() string { return r.log.String() }

// Stop stops the registry (SIGTERM, then SIGKILL after 5 s). Start registers
// it with t.Cleanup; calling it earlier is allowed.
func (r *Registry) Stop() {
	r.stop.Do(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			r.cmd.Process.Kill()
			<-r.done
		}
	})
}

// Start starts a registry for the test. It skips the test when no registry
// binary is available and cannot be installed, and fails it when the
// registry does not come up.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	c := config{ip: "127.0.0.1"}
	for _, o := range opts {
		o(&c)
	}
	if ip := net.ParseIP(c.ip); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		t.Fatalf("testregistry: %q is not an IPv4 loopback address", c.ip)
	}
	if c.user != "" && (c.pass == "" || strings.Contains(c.user, ":")) {
		t.Fatalf("testregistry: invalid credentials for user %q", c.user)
	}
	bin := binary(t)

	work := t.TempDir() // removed after the registry is stopped (cleanups run LIFO)
	r := &Registry{scheme: "http", user: c.user, pass: c.pass, dir: filepath.Join(work, "storage")}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var extra strings.Builder
	if c.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(c.pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(work, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(c.user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&extra, "auth:\n  htpasswd:\n    realm: picket-testregistry\n    path: %s\n", strconv.Quote(htpasswd))
	}
	var certFile, keyFile string
	if c.tls {
		pool, err := selfSigned(net.ParseIP(c.ip), work)
		if err != nil {
			t.Fatalf("testregistry: certificate: %v", err)
		}
		r.scheme, r.pool = "https", pool
		certFile, keyFile = filepath.Join(work, "cert.pem"), filepath.Join(work, "key.pem")
	}

	const attempts = 5
	for attempt := 1; ; attempt++ {
		err := r.launch(t, bin, c, work, extra.String(), certFile, keyFile)
		if err == nil {
			break
		}
		// Another process may take the free port between our probe and the
		// registry's bind: try another one.
		if attempt < attempts && strings.Contains(r.Log(), "address already in use") {
			t.Logf("testregistry: port taken, retrying: %v", err)
			continue
		}
		t.Fatalf("testregistry: %v\nregistry output:\n%s", err, tail(r.Log(), 4096))
	}
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("testregistry %s output (tail):\n%s", r.host, tail(r.Log(), 3000))
		}
	})
	return r
}

// launch starts the registry on a fresh port and waits for it to answer; on
// failure the process is stopped.
func (r *Registry) launch(t testing.TB, bin string, c config, work, extra, certFile, keyFile string) error {
	port, err := freePort(c.ip)
	if err != nil {
		return err
	}
	r.host = net.JoinHostPort(c.ip, strconv.Itoa(port))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `version: 0.1
log:
  level: warn
  formatter: text
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, strconv.Quote(r.dir), strconv.Quote(r.host), randomHex())
	if certFile != "" {
		fmt.Fprintf(&cfg, "  tls:\n    certificate: %s\n    key: %s\n", strconv.Quote(certFile), strconv.Quote(keyFile))
	}
	cfg.WriteString(extra)
	cfgFile := filepath.Join(work, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		return err
	}

	r.log = &syncBuffer{}
	r.stop = new(sync.Once)
	r.done = make(chan struct{})
	cmd := exec.Command(bin, "serve", cfgFile)
	cmd.Dir = work
	cmd.Env = registryEnv()
	cmd.Stdout, cmd.Stderr = r.log, r.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	r.cmd = cmd
	go func() {
		cmd.Wait()
		close(r.done)
	}()
	if err := r.waitReady(); err != nil {
		r.Stop()
		return err
	}
	return nil
}

// waitReady polls GET /v2/ until the registry answers as a distribution
// registry (200, or 401 with authentication).
func (r *Registry) waitReady() error {
	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("registry exited before answering on %s: %v", r.host, r.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			api := resp.Header.Get("Docker-Distribution-Api-Version")
			if (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized) && api == "registry/2.0" {
				return nil
			}
			err = fmt.Errorf("GET /v2/: %s (api version %q)", resp.Status, api)
		}
		last = err
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("registry on %s did not answer within %s: %v", r.host, startTimeout, last)
}

// registryEnv is the process environment without REGISTRY_* variables,
// which would override the generated configuration.
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// selfSigned writes cert.pem and key.pem for ip into dir and returns a pool
// trusting the certificate.
func selfSigned(ip net.IP, dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "picket-testregistry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{ip},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("cannot parse the generated certificate")
	}
	return pool, nil
}

// syncBuffer collects the registry's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

// run executes a command, returning its combined output in the error.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String(), 4096))
	}
	return nil
}
