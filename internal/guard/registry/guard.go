package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// Options configure a Guard.
type Options struct {
	// Upstream is the registry's base URL ("http://127.0.0.1:5000").
	Upstream string
	// UpstreamUsername and UpstreamPassword, when set, authenticate the
	// guard to the upstream: as HTTP basic credentials, or at the
	// upstream's token endpoint when it uses the token flow.
	UpstreamUsername, UpstreamPassword string
	// UpstreamTLS configures TLS to the upstream (CA, client certificate).
	UpstreamTLS *tls.Config
	// Config is the policy (see LoadConfig); ConfigPath, when set, is
	// re-read by Reload.
	Config     *Config
	ConfigPath string
	// StateDir holds the verdict store and the token signing key.
	StateDir string
	// SigningKey signs tokens (default: StateDir/token-key.pem, created
	// when missing).
	SigningKey *ecdsa.PrivateKey
	// Scanner scans pushed images; nil disables scan on push (the gate
	// then denies unscanned images when require_scan is on).
	Scanner     ImageScanner
	ScanWorkers int           // default 1
	ScanQueue   int           // default 256
	ScanTimeout time.Duration // default 15m
	// Policy decides on scanned images (default DefaultGatePolicy).
	Policy GatePolicy
	// Audit receives one entry per request; required.
	Audit  AuditSink
	Logger *slog.Logger
	// Source is the CloudEvents source of webhook events (default
	// "picket/registry-guard").
	Source string
	// BlobStorage, when set, is the upstream's filesystem storage root
	// (distribution's rootdirectory, readable by the guard): authorized
	// blob downloads are served from it with sendfile instead of through
	// the upstream. Blobs the repository does not link go upstream.
	BlobStorage string
}

// Guard is the registry guard: an http.Handler serving the distribution
// API (/v2/), the token endpoint (/token), the admin API (/-/picket/) and
// /healthz.
type Guard struct {
	opts         Options
	config       atomic.Pointer[Config]
	usersP       atomic.Pointer[Users]
	upstream     *url.URL
	upstreamHost string
	transport    http.RoundTripper
	proxy        *httputil.ReverseProxy
	tokens       *token.Service
	store        *Store
	scanner      ImageScanner
	scans        *scanQueue
	policyP      atomic.Pointer[GatePolicy]
	keysP        atomic.Pointer[[]*ecdsa.PublicKey]
	audit        AuditSink
	auditBroken  atomic.Bool
	notify       *notifier
	metrics      *metrics
	limiter      *limiter
	sigCache     sync.Map   // repo@digest -> time verified
	blobs        *blobStore // nil: blobs come through the upstream
	log          *slog.Logger
	baseCtx      context.Context
	cancel       context.CancelFunc
}

// New builds a Guard. Close releases it.
func New(o Options) (*Guard, error) {
	if o.Config == nil {
		return nil, errors.New("registry: no config")
	}
	if o.Audit == nil {
		return nil, errors.New("registry: an audit sink is required")
	}
	if o.StateDir == "" {
		return nil, errors.New("registry: no state directory")
	}
	u, err := url.Parse(o.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("registry: upstream %q: want http(s)://HOST[:PORT]", o.Upstream)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ScanWorkers <= 0 {
		o.ScanWorkers = 1
	}
	if o.ScanQueue <= 0 {
		o.ScanQueue = 256
	}
	if o.ScanTimeout <= 0 {
		o.ScanTimeout = 15 * time.Minute
	}
	if o.Source == "" {
		o.Source = "picket/registry-guard"
	}
	g := &Guard{opts: o, upstream: u, upstreamHost: u.Host, scanner: o.Scanner, audit: o.Audit,
		log: o.Logger, metrics: newMetrics(), limiter: newLimiter()}
	g.baseCtx, g.cancel = context.WithCancel(context.Background())
	if err := g.apply(o.Config); err != nil {
		return nil, err
	}
	key := o.SigningKey
	if key == nil {
		if err := osMkdirAll(o.StateDir); err != nil {
			return nil, err
		}
		if key, err = token.LoadOrCreateKey(joinPath(o.StateDir, "token-key.pem")); err != nil {
			return nil, err
		}
	}
	if g.tokens, err = token.New(key, "picket-registry-guard", o.Config.Service, token.WithTTL(o.Config.TokenTTL)); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     o.UpstreamTLS,
		// Blobs are already compressed; never ask for gzip transfer
		// encoding (it would change what digests cover).
		DisableCompression: true,
		ReadBufferSize:     128 << 10,
		WriteBufferSize:    128 << 10,
	}
	if g.transport, err = newUpstreamTransport(tr, u.Host, u.Scheme == "https", o.UpstreamUsername, o.UpstreamPassword); err != nil {
		return nil, err
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      g.transport,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	if o.BlobStorage != "" {
		if g.blobs, err = newBlobStore(o.BlobStorage, g.metrics.storageBlobs); err != nil {
			return nil, err
		}
	}
	if g.store, err = OpenStore(o.StateDir); err != nil {
		return nil, err
	}
	g.notify = newNotifier(o.Config.Webhooks, o.Source, o.Logger, g.metrics)
	g.scans = newScanQueue(g, o.ScanQueue, o.ScanWorkers, o.ScanTimeout)
	return g, nil
}

// apply installs a validated config: users and signature keys.
func (g *Guard) apply(c *Config) error {
	if c.Htpasswd != "" {
		u, err := LoadHtpasswd(c.Htpasswd)
		if err != nil {
			return err
		}
		g.usersP.Store(u)
	} else {
		g.usersP.Store(nil)
	}
	keys, err := LoadPublicKeys(c.Gate.Signatures.Keys)
	if err != nil {
		return err
	}
	pol := g.opts.Policy
	if pol == nil {
		p, err := LoadGatePolicy(c.Gate.Policies...)
		if err != nil {
			return err
		}
		pol = p
	}
	g.keysP.Store(&keys)
	g.policyP.Store(&pol)
	g.config.Store(c)
	return nil
}

func (g *Guard) keys() []*ecdsa.PublicKey { return *g.keysP.Load() }
func (g *Guard) policy() GatePolicy       { return *g.policyP.Load() }

// Reload re-reads the config file (and the htpasswd file, signature keys
// and gate policies it names). On error the running config stays.
// Webhook receivers are read at start only.
func (g *Guard) Reload() error {
	if g.opts.ConfigPath == "" {
		return errors.New("registry: no config file to reload")
	}
	c, err := LoadConfig(g.opts.ConfigPath)
	if err != nil {
		return err
	}
	return g.apply(c)
}

// Close stops the scan queue and webhooks and closes the store.
func (g *Guard) Close() error {
	g.cancel()
	g.scans.close()
	g.notify.close()
	return g.store.Close()
}

// Store returns the verdict store.
func (g *Guard) Store() *Store { return g.store }

// MetricsHandler serves the Prometheus metrics.
func (g *Guard) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
}

// WaitIdle blocks until the scan queue is empty and no scan runs, or ctx
// ends (tests and the rescan command).
func (g *Guard) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if !g.scans.busy() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (g *Guard) cfg() *Config  { return g.config.Load() }
func (g *Guard) users() *Users { return g.usersP.Load() }

// reqState is what the guard learned about one request, for the audit
// record written when it ends.
type reqState struct {
	start    time.Time
	ip       netip.Addr
	id       Identity
	tokenID  string
	route    Route
	action   string
	digest   string
	decision string
	reason   string
	event    string // webhook event on success
	gated    bool
	base     string // the guard's URL as the client sees it
	path     string // the request path as the client sent it
}

type ctxKey struct{}

func stateOf(r *http.Request) *reqState {
	s, _ := r.Context().Value(ctxKey{}).(*reqState)
	return s
}

// ServeHTTP implements http.Handler.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &reqState{start: time.Now(), ip: clientIP(r), id: Identity{Name: Anonymous, Method: "anonymous"}, base: externalBase(r), path: r.URL.EscapedPath()}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	rw := &recorder{ResponseWriter: w, status: http.StatusOK}
	if g.auditBroken.Load() && r.URL.Path != "/healthz" {
		// Fail closed: nothing happens that cannot be audited. Retry the
		// sink with a probe entry each time.
		if _, err := g.audit.Write(audit.Record{Time: time.Now().UTC(), Identity: "picket-guard", Source: clientIP(r).String(), Action: "audit-probe", Decision: "deny", Reason: "audit log recovering; request refused"}); err != nil {
			writeError(rw, http.StatusServiceUnavailable, CodeUnknown, "audit log unavailable; request refused", nil)
			return
		}
		g.auditBroken.Store(false)
	}
	path := r.URL.EscapedPath()
	kind := "other"
	switch {
	case path == "/token":
		kind = "token"
		g.serveToken(rw, r, st)
	case path == "/healthz":
		kind = "health"
		_, _ = io.WriteString(rw, "ok\n")
		return // not audited: load balancers poll it
	case strings.HasPrefix(path, "/-/picket/"):
		kind = "admin"
		g.serveAdmin(rw, r, st)
	case path == "/v2" || strings.HasPrefix(path, "/v2/"):
		g.serveRegistry(rw, r, st)
		if st.route.Kind != 0 {
			kind = st.route.Kind.String()
		}
	default:
		writeError(rw, http.StatusNotFound, CodeUnsupported, "not a registry API path", nil)
		st.decision, st.reason = "deny", "unknown path"
	}
	g.finish(rw, r, st, kind)
}

func (g *Guard) finish(rw *recorder, r *http.Request, st *reqState, kind string) {
	el := time.Since(st.start)
	g.metrics.requests.WithLabelValues(kind, r.Method, fmt.Sprint(rw.status)).Inc()
	g.metrics.duration.WithLabelValues(kind).Observe(el.Seconds())
	g.metrics.bytes.WithLabelValues(kind).Add(float64(rw.bytes))
	if st.decision == "" {
		st.decision = "allow"
		if rw.status >= 400 {
			st.decision = "error"
		}
	}
	size := rw.bytes
	if r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost {
		size = rw.received(r)
	}
	action := st.action
	if action == "" {
		action = kind
	}
	g.auditEvent(auditRecord{
		rec: audit.Record{
			Time: st.start.UTC(), Identity: st.id.Name, Source: st.ip.String(), Action: action,
			Method: r.Method, Path: truncate(st.path, 512), Decision: st.decision,
			Reason: st.reason, Status: rw.status, Bytes: size, Duration: el,
		},
		repository: st.route.Repo, reference: st.route.Reference, digest: st.digest,
		authMethod: st.id.Method, tokenID: st.tokenID, userAgent: truncate(r.UserAgent(), 256),
	})
	if st.decision == "deny" {
		g.notify.send(EventDeny, EventData{Identity: st.id.Name, ClientIP: st.ip.String(), Repository: st.route.Repo,
			Reference: st.route.Reference, Digest: st.digest, Reason: st.reason})
	} else if st.event != "" && rw.status < 300 {
		g.notify.send(st.event, EventData{Identity: st.id.Name, ClientIP: st.ip.String(), Repository: st.route.Repo,
			Reference: st.route.Reference, Digest: st.digest})
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// deny writes an OCI error and records the denial.
func (g *Guard) deny(w http.ResponseWriter, st *reqState, status int, code, class, reason string) {
	st.decision, st.reason = "deny", reason
	g.metrics.denials.WithLabelValues(class).Inc()
	writeError(w, status, code, reason, nil)
}

// challenge answers 401 with the Bearer challenge of the token flow.
func (g *Guard) challenge(w http.ResponseWriter, r *http.Request, st *reqState, scope, errCode, reason string) {
	cfg := g.cfg()
	realm := cfg.Realm
	if realm == "" {
		realm = externalBase(r) + "/token"
	}
	v := fmt.Sprintf("Bearer realm=%q,service=%q", realm, cfg.Service)
	if scope != "" {
		v += fmt.Sprintf(",scope=%q", scope)
	}
	if errCode != "" {
		v += fmt.Sprintf(",error=%q", errCode)
	}
	w.Header().Set("WWW-Authenticate", v)
	st.decision, st.reason = "deny", reason
	g.metrics.denials.WithLabelValues("unauthenticated").Inc()
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, reason, nil)
}

// externalBase is the guard's URL as the client sees it.
func externalBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap()
}

// recorder captures the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.status, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom lets io.Copy reach the connection's ReadFrom (sendfile for
// blobs served from storage).
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.written = true
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) received(req *http.Request) int64 {
	if cb, ok := req.Body.(*countingBody); ok {
		return cb.n
	}
	if req.ContentLength > 0 {
		return req.ContentLength
	}
	return 0
}

// countingBody counts request bytes streamed upstream.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// bufferPool lends the reverse proxy 256 KiB copy buffers.
type bufferPool struct{}

var bufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (bufferPool) Get() []byte  { return *(bufs.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { bufs.Put(&b) }
