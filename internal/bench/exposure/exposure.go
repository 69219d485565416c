// Package exposure finds container-platform APIs that answer without
// authentication on the hosts a user names: Docker Engine APIs (2375, or
// 2376 without client certificates), Kubernetes API servers and kubelets
// answering anonymous requests (6443, 10250, 10255), and registries open to
// anonymous pulls (/v2/ answering 200). For each it reports what an attacker
// could do there.
//
// Only the endpoints given to Scan are contacted, with read-only GET
// requests, bounded concurrency, per-request timeouts and bounded response
// bodies; nothing is written to the probed services.
package exposure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
)

// maxBody bounds each response body read.
const maxBody = 1 << 20

// Limits of the options.
const (
	DefaultTimeout     = 3 * time.Second
	DefaultConcurrency = 32
	MaxConcurrency     = 256
)

// Rule ids of the findings.
const (
	RuleDockerAPI   = "PKT-EXPOSE-DOCKER-API"
	RuleK8sAPI      = "PKT-EXPOSE-K8S-API"
	RuleKubelet     = "PKT-EXPOSE-KUBELET"
	RuleKubeletRO   = "PKT-EXPOSE-KUBELET-RO"
	RuleRegistry    = "PKT-EXPOSE-REGISTRY"
	RuleK8sVersion  = "PKT-EXPOSE-K8S-VERSION"
	RuleDockerNoTLS = "PKT-EXPOSE-DOCKER-TLS-NOAUTH"
)

// Endpoint states.
const (
	StateClosed    = "closed"    // no TCP connection
	StateOpen      = "open"      // connected, no known service answered
	StateExposed   = "exposed"   // a service answered without authentication
	StateProtected = "protected" // a known service asked for credentials or a client certificate
)

// Options configure Scan.
type Options struct {
	Timeout     time.Duration // per connection and request (default 3s)
	Concurrency int           // endpoints probed at once (default 32, at most 256)
	Logger      *slog.Logger
}

// EndpointResult is what one endpoint turned out to be.
type EndpointResult struct {
	Endpoint string `json:"endpoint"`
	State    string `json:"state"`
	Service  string `json:"service,omitempty"`
	TLS      bool   `json:"tls,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Report is the result of a scan.
type Report struct {
	Endpoints []EndpointResult   `json:"endpoints"`
	Findings  []*finding.Finding `json:"findings"`
	Probed    int                `json:"probed"`
	Open      int                `json:"open"`
	Duration  time.Duration      `json:"-"`
	Millis    int64              `json:"durationMs"`
}

// Scan probes the endpoints and reports the exposed services, sorted by
// endpoint. Only a cancelled context is an error; unreachable endpoints are
// results.
func Scan(ctx context.Context, eps []Endpoint, opts Options) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Concurrency > MaxConcurrency {
		opts.Concurrency = MaxConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	rep := &Report{Probed: len(eps), Findings: []*finding.Finding{}}
	var mu sync.Mutex
	work := make(chan Endpoint)
	var wg sync.WaitGroup
	for i := 0; i < opts.Concurrency && i < len(eps); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ep := range work {
				res, fs := probe(ctx, ep, opts)
				opts.Logger.Debug("exposure: probed", "endpoint", ep.String(), "state", res.State, "service", res.Service)
				mu.Lock()
				rep.Endpoints = append(rep.Endpoints, res)
				rep.Findings = append(rep.Findings, fs...)
				if res.State != StateClosed {
					rep.Open++
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, ep := range eps {
		select {
		case work <- ep:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	sort.Slice(rep.Endpoints, func(i, j int) bool { return rep.Endpoints[i].Endpoint < rep.Endpoints[j].Endpoint })
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		if rep.Findings[i].Severity != rep.Findings[j].Severity {
			return rep.Findings[i].Severity > rep.Findings[j].Severity
		}
		return rep.Findings[i].Target < rep.Findings[j].Target
	})
	rep.Duration = time.Since(start)
	rep.Millis = rep.Duration.Milliseconds()
	return rep, nil
}

// prober talks to one endpoint.
type prober struct {
	ep     Endpoint
	base   string
	hc     *http.Client
	opts   Options
	tls    bool
	mtls   bool   // the TLS server demanded a client certificate
	tlsErr string // why TLS was not used
	cache  map[string]*answer
	dead   error // a transport error: the endpoint stopped answering
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func probe(ctx context.Context, ep Endpoint, opts Options) (EndpointResult, []*finding.Finding) {
	res := EndpointResult{Endpoint: ep.String(), State: StateClosed}
	d := net.Dialer{Timeout: opts.Timeout}
	c, err := d.DialContext(ctx, "tcp", ep.String())
	if err != nil {
		res.Detail = shortErr(err)
		return res, nil
	}
	c.Close()
	res.State = StateOpen
	p := &prober{ep: ep, opts: opts}
	p.detectTLS(ctx)
	res.TLS = p.tls
	if p.mtls {
		res.State, res.Service = StateProtected, "tls-client-auth"
		res.Detail = "TLS server requires a client certificate (" + p.tlsErr + ")"
		return res, nil
	}
	scheme := "http"
	if p.tls {
		scheme = "https"
	}
	p.base = scheme + "://" + ep.String()
	tr := &http.Transport{
		Proxy:                  nil, // never route probes through a proxy: only the named target is contacted
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probing, not trusting
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	p.hc = &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, step := range []func(context.Context, *EndpointResult) ([]*finding.Finding, bool){p.docker, p.kubernetes, p.registry, p.kubelet} {
		if fs, done := step(ctx, &res); done {
			return res, fs
		}
		if ctx.Err() != nil {
			break
		}
	}
	if res.Detail == "" {
		res.Detail = "no Docker, Kubernetes or registry API answered"
	}
	return res, nil
}

// detectTLS tries a TLS handshake (and a first read, where TLS 1.3 servers
// reject a missing client certificate).
func (p *prober) detectTLS(ctx context.Context) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: p.opts.Timeout},
		Config: &tls.Config{InsecureSkipVerify: true, ServerName: p.ep.Host}} //nolint:gosec // probing
	c, err := d.DialContext(ctx, "tcp", p.ep.String())
	if err != nil {
		p.tlsErr = shortErr(err)
		if isClientCertAlert(err) {
			p.tls, p.mtls = true, true
		}
		return
	}
	defer c.Close()
	p.tls = true
	_ = c.SetDeadline(time.Now().Add(p.opts.Timeout))
	if _, err := io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: "+p.ep.String()+"\r\nConnection: close\r\n\r\n"); err == nil {
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil && isClientCertAlert(err) {
			p.mtls, p.tlsErr = true, shortErr(err)
		}
	} else if isClientCertAlert(err) {
		p.mtls, p.tlsErr = true, shortErr(err)
	}
}

func isClientCertAlert(err error) bool {
	s := err.Error()
	return strings.Contains(s, "certificate required") || strings.Contains(s, "bad certificate") ||
		strings.Contains(s, "handshake failure") && strings.Contains(s, "remote error")
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func (p *prober) get(ctx context.Context, path string) (*answer, error) {
	if a, ok := p.cache[path]; ok {
		return a, nil
	}
	if p.dead != nil {
		return nil, p.dead
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "picket-bench-exposure")
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		// Timeouts and resets end the probing of this endpoint: one slow
		// host must not cost a timeout per probe.
		p.dead = err
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: body}
	if p.cache == nil {
		p.cache = map[string]*answer{}
	}
	p.cache[path] = a
	return a, nil
}

func (p *prober) newFinding(rule string, sev finding.Severity, service, title string) *finding.Finding {
	return &finding.Finding{
		Kind: finding.KindMisconfig, Severity: sev, RuleID: rule, Title: title,
		Target: p.ep.String(), Location: finding.Location{Host: p.ep.Host},
		Tags:       []string{"exposure", service},
		Attributes: map[string]string{"service": service, "endpoint": p.ep.String(), "scheme": strings.Split(p.base, ":")[0]},
	}
}

// docker identifies a Docker Engine API by /version and, when it answers,
// gathers what an attacker sees: /info and /containers/json.
func (p *prober) docker(ctx context.Context, res *EndpointResult) ([]*finding.Finding, bool) {
	a, err := p.get(ctx, "/version")
	if err != nil {
		res.Detail = shortErr(err)
		return nil, false
	}
	isDocker := strings.HasPrefix(a.header.Get("Server"), "Docker/") || a.header.Get("Api-Version") != ""
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		if isDocker {
			res.State, res.Service, res.Detail = StateProtected, "docker", fmt.Sprintf("Docker API refused an anonymous request (HTTP %d)", a.status)
			return nil, true
		}
		return nil, false
	}
	if a.status != http.StatusOK {
		return nil, false
	}
	v, ok := ParseDockerVersion(a.body)
	if !ok {
		return nil, false
	}
	res.State, res.Service = StateExposed, "docker"
	res.Detail = fmt.Sprintf("Docker Engine %s (API %s) answers without authentication", v.Version, v.APIVersion)
	f := p.newFinding(RuleDockerAPI, finding.Critical, "docker", "Docker Engine API open without authentication")
	ev := []string{fmt.Sprintf("GET /version: Docker %s, API %s, %s/%s, kernel %s", v.Version, v.APIVersion, v.Os, v.Arch, v.KernelVersion)}
	if ai, err := p.get(ctx, "/info"); err == nil && ai.status == http.StatusOK {
		if inf, err := ParseDockerInfo(ai.body); err == nil {
			ev = append(ev, fmt.Sprintf("GET /info: host %q, %s, %d containers (%d running), %d images, data root %s, security options %s, swarm %s",
				inf.Name, inf.OperatingSystem, inf.Containers, inf.ContainersRunning, inf.Images, inf.DockerRootDir,
				strings.Join(inf.SecurityOptions, "; "), orNone(inf.Swarm.LocalNodeState)))
			f.Attributes["hostname"] = inf.Name
			if inf.Swarm.LocalNodeState == "active" && inf.Swarm.ControlAvailable {
				ev = append(ev, "the host is a swarm manager: services can be deployed to every node")
			}
		}
	} else if err == nil {
		ev = append(ev, fmt.Sprintf("GET /info: HTTP %d", ai.status))
	}
	if ac, err := p.get(ctx, "/containers/json"); err == nil && ac.status == http.StatusOK {
		if cs, err := ParseContainerList(ac.body); err == nil {
			names := make([]string, 0, 10)
			for i, c := range cs {
				if i == 10 {
					names = append(names, fmt.Sprintf("... %d more", len(cs)-10))
					break
				}
				names = append(names, c.Name()+" ("+c.Image+")")
			}
			ev = append(ev, fmt.Sprintf("GET /containers/json: %d running containers: %s", len(cs), strings.Join(names, ", ")))
		}
	} else if err == nil {
		ev = append(ev, fmt.Sprintf("GET /containers/json: HTTP %d", ac.status))
	}
	f.Evidence = strings.Join(ev, "\n")
	f.Description = "An attacker who reaches " + p.ep.String() + " controls the Docker host:\n" +
		"- run a privileged container mounting the host's / and take root on the host (docker -H " + hostURL(p) + " run --privileged -v /:/host ...);\n" +
		"- exec into any running container and read its environment, secrets and files;\n" +
		"- pull, push and delete images; stop, delete or reconfigure every container, network and volume."
	f.Remediation = "Do not expose the Docker API on TCP without TLS client authentication: remove tcp:// from hosts (daemon.json / -H) or set tlsverify with a CA; firewall the port; put an authorizing proxy (picket guard docker) in front."
	if p.tls {
		f.RuleID, f.Title = RuleDockerNoTLS, "Docker Engine API over TLS without client certificate authentication"
	}
	return []*finding.Finding{f}, true
}

func hostURL(p *prober) string {
	if p.tls {
		return "tcp://" + p.ep.String() + " --tls"
	}
	return "tcp://" + p.ep.String()
}

func orNone(s string) string {
	if s == "" {
		return "inactive"
	}
	return s
}

// kubernetes identifies an API server by /version, then tries anonymous
// discovery (/api) and a pod listing.
func (p *prober) kubernetes(ctx context.Context, res *EndpointResult) ([]*finding.Finding, bool) {
	a, err := p.get(ctx, "/version")
	if err != nil || a.status != http.StatusOK {
		return nil, false
	}
	v, ok := ParseK8sVersion(a.body)
	if !ok {
		return nil, false
	}
	res.Service = "kubernetes-apiserver"
	ev := []string{fmt.Sprintf("GET /version: Kubernetes %s (%s)", v.GitVersion, v.Platform)}
	api, err := p.get(ctx, "/api")
	if err != nil || api.status != http.StatusOK {
		status := "no answer"
		if err == nil {
			status = fmt.Sprintf("HTTP %d", api.status)
		}
		res.State, res.Detail = StateProtected, fmt.Sprintf("Kubernetes %s: /version is public (the default), /api refused anonymously (%s)", v.GitVersion, status)
		f := p.newFinding(RuleK8sVersion, finding.Info, "kubernetes-apiserver", "Kubernetes API server reachable; version disclosed")
		f.Evidence = strings.Join(append(ev, "GET /api: "+status), "\n")
		f.Description = "The API server is reachable from here and tells anonymous clients its version (default RBAC); it refused anonymous discovery."
		f.Remediation = "Restrict network access to the API server to the hosts and networks that administer the cluster."
		return []*finding.Finding{f}, true
	}
	versions, _ := ParseAPIVersions(api.body)
	ev = append(ev, "GET /api: anonymous discovery allowed, versions "+strings.Join(versions, ","))
	res.State = StateExposed
	sev, title := finding.High, "Kubernetes API server accepts anonymous requests"
	desc := "Anonymous requests pass authentication (--anonymous-auth) and RBAC grants system:anonymous more than the default public information; an attacker can enumerate the API and use whatever system:anonymous or system:unauthenticated was granted."
	if pods, err := p.get(ctx, "/api/v1/pods?limit=20"); err == nil && pods.status == http.StatusOK {
		if names, ok := ParsePodList(pods.body); ok {
			sev, title = finding.Critical, "Kubernetes API server lets anonymous users list pods"
			ev = append(ev, fmt.Sprintf("GET /api/v1/pods: %d pods listed anonymously: %s", len(names), strings.Join(first(names, 10), ", ")))
			desc = "Anonymous users can read pod specifications across namespaces (environment variables often carry credentials, service account names, images, volumes); permissions this broad usually extend to secrets and creating workloads: cluster takeover."
		}
	} else if err == nil {
		ev = append(ev, fmt.Sprintf("GET /api/v1/pods: HTTP %d", pods.status))
	}
	res.Detail = title
	f := p.newFinding(RuleK8sAPI, sev, "kubernetes-apiserver", title)
	f.Evidence, f.Description = strings.Join(ev, "\n"), desc
	f.Remediation = "Start kube-apiserver with --anonymous-auth=false (or keep it but remove every RoleBinding/ClusterRoleBinding to system:anonymous and system:unauthenticated beyond the defaults); restrict network access to the API server."
	return []*finding.Finding{f}, true
}

// registry identifies a distribution registry by /v2/ and lists its
// catalog when it is open.
func (p *prober) registry(ctx context.Context, res *EndpointResult) ([]*finding.Finding, bool) {
	a, err := p.get(ctx, "/v2/")
	if err != nil {
		return nil, false
	}
	isReg := strings.HasPrefix(a.header.Get("Docker-Distribution-Api-Version"), "registry/2")
	if a.status == http.StatusUnauthorized && (isReg || strings.Contains(a.header.Get("Www-Authenticate"), "realm")) {
		res.State, res.Service = StateProtected, "registry"
		res.Detail = "registry requires authentication (" + a.header.Get("Www-Authenticate") + ")"
		return nil, true
	}
	if a.status != http.StatusOK || !isReg {
		return nil, false
	}
	res.State, res.Service = StateExposed, "registry"
	f := p.newFinding(RuleRegistry, finding.High, "registry", "Container registry open to anonymous clients")
	ev := []string{"GET /v2/: HTTP 200 without credentials (" + a.header.Get("Docker-Distribution-Api-Version") + ")"}
	if c, err := p.get(ctx, "/v2/_catalog?n=100"); err == nil && c.status == http.StatusOK {
		if repos, err := ParseCatalog(c.body); err == nil {
			more := ""
			if strings.Contains(c.header.Get("Link"), "rel=\"next\"") {
				more = " (more pages)"
			}
			ev = append(ev, fmt.Sprintf("GET /v2/_catalog: %d repositories%s: %s", len(repos), more, strings.Join(first(repos, 10), ", ")))
			f.Attributes["repositories"] = fmt.Sprint(len(repos))
		}
	} else if err == nil {
		ev = append(ev, fmt.Sprintf("GET /v2/_catalog: HTTP %d", c.status))
	}
	res.Detail = "registry answers /v2/ without authentication"
	f.Evidence = strings.Join(ev, "\n")
	f.Description = "Anyone who reaches the registry can list and pull every image (source code, credentials baked into layers) and, unless it is read-only, push images under trusted names that hosts will then run (supply-chain compromise). Picket did not try to push."
	f.Remediation = "Enable authentication on the registry (htpasswd or token auth, or picket guard registry in front), serve it over TLS, and restrict who may push."
	return []*finding.Finding{f}, true
}

// kubelet identifies a kubelet by /pods (10250 over TLS; 10255 is the
// read-only port over plain HTTP).
func (p *prober) kubelet(ctx context.Context, res *EndpointResult) ([]*finding.Finding, bool) {
	a, err := p.get(ctx, "/pods")
	if err != nil {
		return nil, false
	}
	if (a.status == http.StatusUnauthorized || a.status == http.StatusForbidden) && p.tls &&
		(strings.Contains(string(a.body), "Unauthorized") || strings.Contains(string(a.body), "Forbidden")) {
		res.State, res.Service = StateProtected, "kubelet"
		res.Detail = fmt.Sprintf("kubelet refused an anonymous request (HTTP %d)", a.status)
		return nil, true
	}
	if a.status != http.StatusOK {
		return nil, false
	}
	pods, ok := ParsePodList(a.body)
	if !ok {
		return nil, false
	}
	res.State = StateExposed
	ev := []string{fmt.Sprintf("GET /pods: %d pods: %s", len(pods), strings.Join(first(pods, 10), ", "))}
	if p.tls {
		res.Service, res.Detail = "kubelet", "kubelet API answers anonymously"
		f := p.newFinding(RuleKubelet, finding.Critical, "kubelet", "Kubelet API open to anonymous clients")
		f.Evidence = strings.Join(ev, "\n")
		f.Description = "Anonymous clients can use the kubelet API of this node: run commands in any of its pods (POST /run/NAMESPACE/POD/CONTAINER), attach, read logs and pod specs (with their secrets), and usually pivot to the cluster through service account tokens."
		f.Remediation = "Run the kubelet with --anonymous-auth=false and --authorization-mode=Webhook (authentication.anonymous.enabled: false, authorization.mode: Webhook); firewall 10250 to the control plane."
		return []*finding.Finding{f}, true
	}
	res.Service, res.Detail = "kubelet-readonly", "kubelet read-only port answers"
	f := p.newFinding(RuleKubeletRO, finding.High, "kubelet-readonly", "Kubelet read-only port open")
	f.Evidence = strings.Join(ev, "\n")
	f.Description = "The unauthenticated read-only kubelet port discloses every pod spec on the node (environment variables with credentials, images, volumes, service accounts) and node metrics."
	f.Remediation = "Disable the read-only port (--read-only-port=0 / readOnlyPort: 0)."
	return []*finding.Finding{f}, true
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), fmt.Sprintf("... %d more", len(s)-n))
}
