package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-cdr/picket/internal/audit"
)

// DefaultMaxBody is the default limit on a guarded request body (the
// JSON of a container create is a few KiB).
const DefaultMaxBody = 1 << 20

// DefaultBodyTimeout bounds reading a guarded body (slow senders).
const DefaultBodyTimeout = 30 * time.Second

// Guard is the policy engine and the proxy in front of one daemon. The
// same engine answers the AuthZ plugin protocol (see AuthZHandler).
type Guard struct {
	up          *Upstream
	daemon      Daemon
	scans       *ScanStore
	policy      *Policy
	access      *Access
	audit       *audit.Writer
	metrics     *Metrics
	log         *slog.Logger
	maxBody     int64
	bodyTimeout time.Duration
	lookupUID   func(int) string
	rp          *httputil.ReverseProxy
	now         func() time.Time

	state atomic.Pointer[state] // what Reload swaps

	auditQ    chan auditItem
	auditDone chan struct{}
	auditMu   sync.RWMutex // held for reading while sending to auditQ
	closed    bool
}

// auditItem is a record to write, or (rec nil) a flush marker.
type auditItem struct {
	rec   *audit.Record
	flush chan struct{}
}

// auditQueue bounds the records waiting for the audit writer; when it is
// full, requests wait (audit records are never dropped).
const auditQueue = 4096

// Option configures a Guard.
type Option func(*Guard)

// WithAccess sets identities, tokens and the endpoint ACL.
func WithAccess(a *Access) Option { return func(g *Guard) { g.access = a } }

// WithAudit writes one record per request to w.
func WithAudit(w *audit.Writer) Option { return func(g *Guard) { g.audit = w } }

// WithMetrics records Prometheus metrics in m.
func WithMetrics(m *Metrics) Option { return func(g *Guard) { g.metrics = m } }

// WithLogger logs proxy errors to l.
func WithLogger(l *slog.Logger) Option { return func(g *Guard) { g.log = l } }

// WithMaxBody sets the guarded body limit in bytes.
func WithMaxBody(n int64) Option { return func(g *Guard) { g.maxBody = n } }

// WithBodyTimeout bounds reading a guarded body.
func WithBodyTimeout(d time.Duration) Option { return func(g *Guard) { g.bodyTimeout = d } }

// WithScanStore gives the policy the last scan of the image a container
// is created from (image.scan).
func WithScanStore(s *ScanStore) Option { return func(g *Guard) { g.scans = s } }

// WithUIDLookup maps unix peer uids to names (default: none, "uid:N").
func WithUIDLookup(f func(int) string) Option { return func(g *Guard) { g.lookupUID = f } }

// New returns a guard forwarding to up under pol.
func New(up *Upstream, pol *Policy, opts ...Option) *Guard {
	g := &Guard{up: up, daemon: up, policy: pol, access: &Access{}, maxBody: DefaultMaxBody,
		bodyTimeout: DefaultBodyTimeout, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(g)
	}
	if g.metrics == nil {
		g.metrics = NewMetrics()
	}
	if g.access.tokens == nil {
		_ = g.access.init()
	}
	g.state.Store(&state{policy: g.policy, access: g.access})
	if g.audit != nil {
		g.auditQ, g.auditDone = make(chan auditItem, auditQueue), make(chan struct{})
		go g.auditLoop()
	}
	g.rp = &httputil.ReverseProxy{
		Transport:     up.transport,
		FlushInterval: -1,
		BufferPool:    bufferPool{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			req := pr.In.Context().Value(reqKey{}).(*Request)
			u, _ := url.Parse(req.URI())
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "docker"
			pr.Out.URL.Path, pr.Out.URL.RawPath, pr.Out.URL.RawQuery = u.Path, "", u.RawQuery
			pr.Out.Host = "docker"
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Proxy-Authorization")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			g.log.Warn("guard: upstream", "err", err, "path", r.URL.Path)
			writeError(w, http.StatusBadGateway, "picket: upstream daemon: "+err.Error())
		},
	}
	return g
}

type reqKey struct{}

// state is the policy and access file in force.
type state struct {
	policy *Policy
	access *Access
}

func (g *Guard) pol() *Policy { return g.state.Load().policy }
func (g *Guard) acc() *Access { return g.state.Load().access }

// Reload replaces the policy and the access file for the requests that
// follow; requests in flight finish under the old ones. A nil argument
// keeps the current one.
func (g *Guard) Reload(pol *Policy, acc *Access) {
	cur := g.state.Load()
	next := &state{policy: cur.policy, access: cur.access}
	if pol != nil {
		next.policy = pol
	}
	if acc != nil {
		if acc.tokens == nil {
			_ = acc.init()
		}
		next.access = acc
	}
	g.state.Store(next)
}

type bufferPool struct{}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (bufferPool) Get() []byte  { return *(bufPool.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { bufPool.Put(&b) }

// Metrics returns the guard's metrics.
func (g *Guard) Metrics() *Metrics { return g.metrics }

// Decide runs the ACL and the policy for one request whose guarded body
// (if any) has been read.
func (g *Guard) Decide(ctx context.Context, id Identity, req *Request, body []byte) Decision {
	start := g.now()
	d := g.decide(ctx, id, req, body)
	d.Elapsed = g.now().Sub(start)
	g.metrics.decision.Observe(d.Elapsed.Seconds())
	return d
}

func (g *Guard) decide(ctx context.Context, id Identity, req *Request, body []byte) Decision {
	if ok, reason := g.acc().Check(id, req); !ok {
		return Decision{Status: http.StatusForbidden, Rule: "acl", Message: "picket: " + reason}
	}
	in, err := buildInput(ctx, g.daemon, g.scans, id, req, body)
	if err != nil {
		var be *BodyError
		if errors.As(err, &be) {
			return Decision{Status: http.StatusBadRequest, Rule: "body", Message: "picket: refused: " + be.Error()}
		}
		return Decision{Status: http.StatusForbidden, Rule: "error", Message: "picket: cannot decide, refusing: " + err.Error()}
	}
	return g.pol().evaluate(ctx, in)
}

// writeError sends a Docker-style JSON error the docker CLI prints as
// "Error response from daemon: MESSAGE".
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// recorder captures the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// entry is what one request leaves in the audit log.
type entry struct {
	id       Identity
	req      *Request
	method   string
	uri      string
	dec      Decision
	status   int
	bytes    int64
	start    time.Time
	resource string
	extra    map[string]any
}

// ServeHTTP authenticates, normalises, decides and forwards one request.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	e := &entry{start: g.now(), method: r.Method, uri: r.RequestURI}
	g.metrics.inflight.Inc()
	defer func() {
		g.metrics.inflight.Dec()
		if e.status == 0 {
			e.status = rec.status
		}
		e.bytes += rec.bytes
		g.finish(e)
	}()

	id, err := g.authenticate(r)
	e.id = id
	if err != nil {
		e.dec = Decision{Status: http.StatusUnauthorized, Rule: "auth", Message: "picket: " + err.Error()}
		w.Header().Set("WWW-Authenticate", `Bearer realm="picket"`)
		writeError(rec, e.dec.Status, e.dec.Message)
		return
	}
	req, err := ParseRequest(r.Method, r.RequestURI)
	if err != nil {
		e.dec = Decision{Status: http.StatusBadRequest, Rule: "bad-request", Message: "picket: " + err.Error()}
		writeError(rec, e.dec.Status, e.dec.Message)
		return
	}
	e.req = req
	var body []byte
	if NeedsBody(req.Endpoint) {
		body, err = g.readBody(rec, r)
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			e.dec = Decision{Status: status, Rule: "body", Message: "picket: refused: " + err.Error()}
			writeError(rec, e.dec.Status, e.dec.Message)
			return
		}
	}
	e.dec = g.Decide(r.Context(), id, req, body)
	e.resource, e.extra = resourceOf(req, body)
	if !e.dec.Allow {
		writeError(rec, e.dec.Status, e.dec.Message)
		return
	}
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		r.Header.Set("Content-Length", fmt.Sprint(len(body)))
	}
	if isUpgrade(r) {
		e.status, e.bytes = g.hijack(rec, r, req, body)
		return
	}
	g.rp.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), reqKey{}, req)))
}

var errTooLarge = errors.New("body too large")

func (g *Guard) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, fmt.Errorf("compressed body (Content-Encoding %s) on a guarded endpoint", ce)
	}
	if r.ContentLength > g.maxBody {
		w.Header().Set("Connection", "close")
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, r.ContentLength, g.maxBody)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(g.now().Add(g.bodyTimeout))
	b, err := io.ReadAll(io.LimitReader(r.Body, g.maxBody+1))
	if err == nil && int64(len(b)) > g.maxBody {
		err = fmt.Errorf("%w: more than %d bytes", errTooLarge, g.maxBody)
	} else if err != nil {
		err = fmt.Errorf("reading body: %w", err)
	}
	if err != nil {
		// Refuse and hang up: the rest of the body is not read, and the
		// expired deadline keeps a slow sender from holding the connection.
		w.Header().Set("Connection", "close")
		_ = rc.SetReadDeadline(g.now())
		return nil, err
	}
	_ = rc.SetReadDeadline(time.Time{})
	return b, nil
}

// resourceOf names what a request acts on, for the audit log.
func resourceOf(req *Request, body []byte) (string, map[string]any) {
	extra := map[string]any{}
	res := req.Params["id"]
	if res == "" {
		res = req.Params["name"]
	}
	switch req.Endpoint {
	case "container.create":
		var c struct{ Image string }
		_ = json.Unmarshal(body, &c)
		extra["image"] = c.Image
		if n := req.Query.Get("name"); n != "" {
			extra["container"] = n
		}
	case "image.pull":
		res = req.Query.Get("fromImage")
		if t := req.Query.Get("tag"); t != "" {
			res += ":" + t
		}
	case "image.build":
		if t := req.Query["t"]; len(t) > 0 {
			extra["tags"] = t
		}
	case "plugin.pull":
		res = req.Query.Get("remote")
	}
	if len(extra) == 0 {
		extra = nil
	}
	return res, extra
}

func (g *Guard) finish(e *entry) {
	endpoint := "invalid"
	path := e.uri
	if e.req != nil {
		endpoint = e.req.Endpoint
		path = e.req.URI()
	}
	decision := "allow"
	if !e.dec.Allow {
		decision = "deny"
		g.metrics.denials.WithLabelValues(e.dec.Rule).Inc()
	}
	if e.dec.Allow && e.status >= 500 {
		decision = "error"
	}
	g.metrics.requests.WithLabelValues(endpoint, decision).Inc()
	dur := g.now().Sub(e.start)
	g.metrics.duration.WithLabelValues(endpoint).Observe(dur.Seconds())
	if g.audit == nil {
		return
	}
	rec := audit.Record{
		Time: e.start, Identity: e.id.Name, Groups: e.id.Groups, Source: e.id.Source, Action: endpoint,
		Method: e.method, Path: path, Resource: e.resource, Decision: decision, Rule: e.dec.Rule,
		Status: e.status, Bytes: e.bytes, Duration: dur, Extra: e.extra,
	}
	if !e.dec.Allow {
		rec.Reason = e.dec.Message
		if len(e.dec.Denied) > 1 {
			if rec.Extra == nil {
				rec.Extra = map[string]any{}
			}
			rec.Extra["rules"] = e.dec.Denied
		}
	}
	if len(e.dec.Warn) > 0 {
		if rec.Extra == nil {
			rec.Extra = map[string]any{}
		}
		rec.Extra["warn"] = e.dec.Warn
	}
	if e.id.Auth != "" {
		if rec.Extra == nil {
			rec.Extra = map[string]any{}
		}
		rec.Extra["auth"] = e.id.Auth
	}
	g.auditMu.RLock()
	defer g.auditMu.RUnlock()
	if g.closed {
		g.metrics.auditErrs.Inc()
		g.log.Error("guard: audit record after Close (stream outlived shutdown)", "path", rec.Path)
		return
	}
	g.auditQ <- auditItem{rec: &rec}
}

// auditLoop writes queued records in batches: with the default fsync
// policy one fsync covers every record that arrived meanwhile, and no
// request waits for the disk.
func (g *Guard) auditLoop() {
	defer close(g.auditDone)
	var batch []audit.Record
	var flushes []chan struct{}
	for it := range g.auditQ {
		batch, flushes = batch[:0], flushes[:0]
		add := func(it auditItem) {
			if it.rec != nil {
				batch = append(batch, *it.rec)
			} else {
				flushes = append(flushes, it.flush)
			}
		}
		add(it)
	more:
		for len(batch) < 512 {
			select {
			case it, ok := <-g.auditQ:
				if !ok {
					break more
				}
				add(it)
			default:
				break more
			}
		}
		if len(batch) > 0 {
			if es, err := g.audit.WriteBatch(batch); err != nil {
				g.metrics.auditErrs.Add(float64(len(batch) - len(es)))
				g.log.Error("guard: audit", "err", err)
			}
		}
		for _, f := range flushes {
			close(f)
		}
	}
}

// FlushAudit waits until every record queued so far is written (and, with
// the default policy, fsynced).
func (g *Guard) FlushAudit() {
	if g.auditQ == nil {
		return
	}
	done := make(chan struct{})
	g.auditMu.RLock()
	if g.closed {
		g.auditMu.RUnlock()
		return
	}
	g.auditQ <- auditItem{flush: done}
	g.auditMu.RUnlock()
	<-done
}

// Close writes the queued audit records; call it after the servers have
// stopped and before closing the audit writer.
func (g *Guard) Close() {
	if g.auditQ == nil {
		return
	}
	g.auditMu.Lock()
	if g.closed {
		g.auditMu.Unlock()
		return
	}
	g.closed = true
	close(g.auditQ)
	g.auditMu.Unlock()
	<-g.auditDone
}

func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

type closeWriter interface{ CloseWrite() error }

// hijack forwards an upgraded connection (attach, exec start, BuildKit
// session): the request goes to the daemon on a fresh connection; a 101
// answer turns both connections into a raw bidirectional pipe with
// half-close, anything else is relayed as a normal response.
func (g *Guard) hijack(w http.ResponseWriter, r *http.Request, req *Request, body []byte) (int, int64) {
	ctx := r.Context()
	bc, err := g.up.Dial(ctx)
	if err != nil {
		writeError(w, http.StatusBadGateway, "picket: upstream daemon: "+err.Error())
		return http.StatusBadGateway, 0
	}
	defer bc.Close()
	u, _ := url.Parse(req.URI())
	out := &http.Request{
		Method: r.Method, URL: u, Host: "docker", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: r.Header.Clone(), Body: http.NoBody,
	}
	out.Header.Del("Authorization")
	out.Header.Del("Proxy-Authorization")
	switch {
	case body != nil:
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	case r.ContentLength > 0:
		out.Body, out.ContentLength = r.Body, r.ContentLength
	case r.ContentLength < 0:
		writeError(w, http.StatusBadRequest, "picket: chunked body on an upgrade request")
		return http.StatusBadRequest, 0
	}
	if err := out.Write(bc); err != nil {
		writeError(w, http.StatusBadGateway, "picket: upstream daemon: "+err.Error())
		return http.StatusBadGateway, 0
	}
	br := bufio.NewReaderSize(bc, 32<<10)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		writeError(w, http.StatusBadGateway, "picket: upstream daemon: "+err.Error())
		return http.StatusBadGateway, 0
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		n, _ := copyFlush(w, resp.Body)
		return resp.StatusCode, n
	}
	rc := http.NewResponseController(w)
	cc, cbuf, err := rc.Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "picket: cannot hijack the client connection: "+err.Error())
		return http.StatusInternalServerError, 0
	}
	defer cc.Close()
	_ = cc.SetDeadline(time.Time{})
	g.metrics.hijacked.Inc()
	defer g.metrics.hijacked.Dec()
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := cc.Write(head.Bytes()); err != nil {
		return resp.StatusCode, 0
	}
	up := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(bc, cbuf.Reader)
		if cw, ok := bc.(closeWriter); ok {
			_ = cw.CloseWrite()
		}
		up <- n
	}()
	down, _ := io.Copy(cc, br)
	if cw, ok := cc.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	// The daemon has finished the stream; give the client a moment to
	// finish its side, then close.
	select {
	case n := <-up:
		return resp.StatusCode, down + n
	case <-time.After(2 * time.Second):
		cc.Close()
		bc.Close()
		return resp.StatusCode, down + <-up
	}
}

// copyFlush copies a streamed response, flushing after every read.
func copyFlush(w http.ResponseWriter, r io.Reader) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
