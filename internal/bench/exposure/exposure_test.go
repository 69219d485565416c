package exposure

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/testregistry"
)

// forwardDocker exposes the machine's real Docker Engine API on a free
// loopback port, as an operator who set -H tcp://127.0.0.1:PORT would: a
// TCP listener whose connections are piped to the daemon's unix socket.
func forwardDocker(t *testing.T) (Endpoint, *atomic.Int64) {
	t.Helper()
	if testing.Short() {
		t.Skip("exposure: needs the Docker Engine")
	}
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		sock = strings.TrimPrefix(h, "unix://")
	}
	if c, err := net.DialTimeout("unix", sock, 2*time.Second); err != nil {
		t.Skip("exposure: no Docker daemon socket: " + err.Error())
	} else {
		c.Close()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				d, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer d.Close()
				go func() { io.Copy(d, c); d.(*net.UnixConn).CloseWrite() }()
				io.Copy(c, d)
			}()
		}
	}()
	return Endpoint{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}, &conns
}

func closedPort(t *testing.T) Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return Endpoint{Host: "127.0.0.1", Port: p}
}

func scan(t *testing.T, eps ...Endpoint) *Report {
	t.Helper()
	rep, err := Scan(context.Background(), eps, Options{Timeout: 3 * time.Second, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Probed != len(eps) || len(rep.Endpoints) != len(eps) {
		t.Fatalf("probed %d/%d endpoints for %d targets", rep.Probed, len(rep.Endpoints), len(eps))
	}
	return rep
}

func endpoint(rep *Report, e Endpoint) EndpointResult {
	for _, r := range rep.Endpoints {
		if r.Endpoint == e.String() {
			return r
		}
	}
	return EndpointResult{}
}

func findingsAt(rep *Report, e Endpoint) []*finding.Finding {
	var out []*finding.Finding
	for _, f := range rep.Findings {
		if f.Target == e.String() {
			out = append(out, f)
		}
	}
	return out
}

func TestRealDockerAPIExposed(t *testing.T) {
	dockerEP, conns := forwardDocker(t)
	closed := closedPort(t)
	rep := scan(t, dockerEP, closed)

	if r := endpoint(rep, dockerEP); r.State != StateExposed || r.Service != "docker" || r.TLS {
		t.Errorf("docker endpoint: %+v", r)
	}
	fs := findingsAt(rep, dockerEP)
	if len(fs) != 1 || fs[0].RuleID != RuleDockerAPI || fs[0].Severity != finding.Critical {
		t.Fatalf("docker findings: %+v", fs)
	}
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output()
	if err == nil {
		if v := strings.TrimSpace(string(out)); !strings.Contains(fs[0].Evidence, "Docker "+v) {
			t.Errorf("evidence %q does not name the daemon's version %s", fs[0].Evidence, v)
		}
	}
	for _, want := range []string{"GET /info:", "GET /containers/json:", "running containers"} {
		if !strings.Contains(fs[0].Evidence, want) {
			t.Errorf("evidence lacks %q:\n%s", want, fs[0].Evidence)
		}
	}
	if !strings.Contains(fs[0].Description, "--privileged -v /:/host") {
		t.Errorf("description does not say what an attacker can do: %s", fs[0].Description)
	}
	if conns.Load() == 0 {
		t.Error("the forwarder saw no connection")
	}
	if r := endpoint(rep, closed); r.State != StateClosed || len(findingsAt(rep, closed)) != 0 {
		t.Errorf("closed port: %+v", r)
	}
}

func TestRealRegistry(t *testing.T) {
	open := testregistry.Start(t)
	authed := testregistry.Start(t, testregistry.WithAuth("alice", "s3cret"))
	// Put a repository into the open registry so the catalog lists it.
	ref, err := name.ParseReference(open.Ref("picket-test-bench/exposure:1"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ep := func(r *testregistry.Registry) Endpoint {
		h, p, _ := net.SplitHostPort(r.Host())
		n, _ := strconv.Atoi(p)
		return Endpoint{Host: h, Port: n}
	}
	openEP, authEP := ep(open), ep(authed)
	rep := scan(t, openEP, authEP)

	if r := endpoint(rep, openEP); r.State != StateExposed || r.Service != "registry" {
		t.Errorf("open registry: %+v", r)
	}
	fs := findingsAt(rep, openEP)
	if len(fs) != 1 || fs[0].RuleID != RuleRegistry || fs[0].Severity != finding.High {
		t.Fatalf("open registry findings: %+v", fs)
	}
	if !strings.Contains(fs[0].Evidence, "1 repositories") || !strings.Contains(fs[0].Evidence, "picket-test-bench/exposure") {
		t.Errorf("evidence does not list the catalog: %s", fs[0].Evidence)
	}
	if r := endpoint(rep, authEP); r.State != StateProtected || r.Service != "registry" || len(findingsAt(rep, authEP)) != 0 {
		t.Errorf("authenticated registry: %+v, findings %v", r, findingsAt(rep, authEP))
	}
}

func TestUnknownAndMutualTLSServices(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	mtls := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "{}") }))
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert}
	mtls.StartTLS()
	defer mtls.Close()
	toEP := func(u string) Endpoint {
		h, p, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"))
		n, _ := strconv.Atoi(p)
		return Endpoint{Host: h, Port: n}
	}
	pe, me := toEP(plain.URL), toEP(mtls.URL)
	rep := scan(t, pe, me)
	if r := endpoint(rep, pe); r.State != StateOpen || len(findingsAt(rep, pe)) != 0 {
		t.Errorf("plain HTTP server: %+v", r)
	}
	if r := endpoint(rep, me); r.State != StateProtected || r.Service != "tls-client-auth" || !r.TLS {
		t.Errorf("mutual TLS server: %+v", r)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings: %+v", rep.Findings)
	}
}

// TestKubernetesReplay runs the probes against servers replaying the
// testdata answers (no cluster runs on this machine): an API server over
// TLS that lets anonymous users list pods, a kubelet over TLS, a read-only
// kubelet over plain HTTP, and an API server refusing anonymous discovery.
func TestKubernetesReplay(t *testing.T) {
	pods := read(t, "kubelet-pods.json")
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/version":
			w.Write(read(t, "k8s-version.json"))
		case "/api":
			w.Write(read(t, "k8s-api.json"))
		case "/api/v1/pods":
			w.Write(pods)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	locked := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			w.Write(read(t, "k8s-version.json"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "status": "Failure", "reason": "Forbidden"})
	}))
	defer locked.Close()
	kubelet := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pods" {
			w.Write(pods)
			return
		}
		http.NotFound(w, r)
	}))
	defer kubelet.Close()
	readonly := httptest.NewServer(kubelet.Config.Handler)
	defer readonly.Close()
	toEP := func(u string) Endpoint {
		h, p, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"))
		n, _ := strconv.Atoi(p)
		return Endpoint{Host: h, Port: n}
	}
	a, l, k, ro := toEP(api.URL), toEP(locked.URL), toEP(kubelet.URL), toEP(readonly.URL)
	rep := scan(t, a, l, k, ro)
	for _, tt := range []struct {
		ep      Endpoint
		state   string
		rule    string
		sev     finding.Severity
		service string
	}{
		{a, StateExposed, RuleK8sAPI, finding.Critical, "kubernetes-apiserver"},
		{l, StateProtected, RuleK8sVersion, finding.Info, "kubernetes-apiserver"},
		{k, StateExposed, RuleKubelet, finding.Critical, "kubelet"},
		{ro, StateExposed, RuleKubeletRO, finding.High, "kubelet-readonly"},
	} {
		r := endpoint(rep, tt.ep)
		fs := findingsAt(rep, tt.ep)
		if r.State != tt.state || r.Service != tt.service || len(fs) != 1 || fs[0].RuleID != tt.rule || fs[0].Severity != tt.sev {
			t.Errorf("%s: %+v, findings %+v; want %s %s %s %s", tt.service, r, fs, tt.state, tt.service, tt.rule, tt.sev)
		}
	}
}

func TestScanBounds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, []Endpoint{closedPort(t)}, Options{}); err == nil {
		t.Error("cancelled scan succeeded")
	}
	// A listener that accepts and never answers: the timeout bounds the probe.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ep := Endpoint{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}
	start := time.Now()
	rep, err := Scan(context.Background(), []Endpoint{ep}, Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a silent endpoint took %s with a 300ms timeout", d)
	}
	if r := endpoint(rep, ep); r.State != StateOpen || len(rep.Findings) != 0 {
		t.Errorf("silent endpoint: %+v", r)
	}
}
