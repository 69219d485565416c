package registry

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// upstreamTTL is how long an authenticated upstream transport is reused
// before it is built again (with a fresh upstream token): shorter than any
// sensible upstream token lifetime, so a streamed upload never meets an
// expired token (a body cannot be replayed after a 401).
const upstreamTTL = 60 * time.Second

// maxUpstreamTransports bounds the per-repository transports kept.
const maxUpstreamTransports = 4096

// upstreamTransport authenticates the guard's requests to the upstream the
// way the upstream asks (go-containerregistry's handshake): nothing, HTTP
// basic, or the distribution token flow with a token per repository scope.
// It works for distribution with htpasswd or token auth, Harbor, GitLab
// and the like.
type upstreamTransport struct {
	base  http.RoundTripper
	reg   name.Registry
	auth  authn.Authenticator
	https bool

	mu sync.Mutex
	m  map[string]upstreamEntry
}

type upstreamEntry struct {
	rt http.RoundTripper
	at time.Time
}

func newUpstreamTransport(base http.RoundTripper, host string, https bool, user, pass string) (*upstreamTransport, error) {
	var opts []name.Option
	if !https {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry: upstream %q: %w", host, err)
	}
	var auth authn.Authenticator = authn.Anonymous
	if user != "" {
		auth = &authn.Basic{Username: user, Password: pass}
	}
	return &upstreamTransport{base: base, reg: reg, auth: auth, https: https, m: map[string]upstreamEntry{}}, nil
}

// RoundTrip implements http.RoundTripper.
func (u *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if u.https && req.URL.Scheme != "https" {
		// go-containerregistry falls back to plain HTTP for private
		// addresses; an https upstream is never downgraded.
		return nil, fmt.Errorf("registry: refusing plain HTTP to the https upstream %s", req.URL.Host)
	}
	scope := "registry:catalog:*"
	if r, err := ParseRoute(req.URL.EscapedPath()); err == nil && r.Repo != "" {
		scope = "repository:" + r.Repo + ":pull,push,delete"
	}
	rt, err := u.transport(req.Context(), scope)
	if err != nil {
		return nil, fmt.Errorf("registry: upstream authentication: %w", err)
	}
	return rt.RoundTrip(req)
}

func (u *upstreamTransport) transport(ctx context.Context, scope string) (http.RoundTripper, error) {
	u.mu.Lock()
	e, ok := u.m[scope]
	u.mu.Unlock()
	if ok && time.Since(e.at) < upstreamTTL {
		return e.rt, nil
	}
	rt, err := transport.NewWithContext(ctx, u.reg, u.auth, httpsGuard{u}, []string{scope})
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	if len(u.m) >= maxUpstreamTransports {
		clear(u.m)
	}
	u.m[scope] = upstreamEntry{rt: rt, at: time.Now()}
	u.mu.Unlock()
	return rt, nil
}

// httpsGuard is the base transport with the no-downgrade rule, also for
// the handshake's own requests (ping, token).
type httpsGuard struct{ u *upstreamTransport }

func (h httpsGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.u.https && req.URL.Scheme != "https" && req.URL.Host == h.u.reg.RegistryStr() {
		return nil, fmt.Errorf("registry: refusing plain HTTP to the https upstream %s", req.URL.Host)
	}
	return h.u.base.RoundTrip(req)
}
