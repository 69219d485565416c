package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

func osMkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("registry: state dir: %w", err)
	}
	return nil
}

func joinPath(a, b string) string { return filepath.Join(a, b) }

// serveRegistry handles /v2/ requests: route, authenticate, authorise,
// gate, then proxy.
func (g *Guard) serveRegistry(w http.ResponseWriter, r *http.Request, st *reqState) {
	cfg := g.cfg()
	route, err := ParseRoute(r.URL.EscapedPath())
	if err != nil {
		g.deny(w, st, http.StatusNotFound, CodeNameInvalid, "bad-path", err.Error())
		return
	}
	st.route = route
	action, ok := route.Action(r.Method)
	if !ok {
		g.deny(w, st, http.StatusMethodNotAllowed, CodeUnsupported, "bad-method", fmt.Sprintf("%s is not supported on %s endpoints", r.Method, route.Kind))
		return
	}
	st.action = action
	if route.Kind == KindManifest && route.IsDigest() {
		st.digest = route.Reference
	}
	if route.Kind == KindBlob {
		st.digest = route.Reference
	}

	// Authentication: a bearer token from /token, or nobody.
	var claims *token.Claims
	if authz := r.Header.Get("Authorization"); authz != "" {
		scheme, tok, _ := strings.Cut(authz, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			g.challenge(w, r, st, scopeFor(route, action), "", "use a bearer token from the token endpoint")
			return
		}
		claims, err = g.tokens.Verify(strings.TrimSpace(tok))
		if err != nil {
			code := "invalid_token"
			g.challenge(w, r, st, scopeFor(route, action), code, err.Error())
			return
		}
		st.id = Identity{Name: claims.Subject, Method: "bearer"}
		st.tokenID = claims.ID
		if exp, exists := cfg.robotExpiry(claims.Subject); !exists || (!exp.IsZero() && !time.Now().Before(exp)) {
			g.challenge(w, r, st, scopeFor(route, action), "invalid_token", "robot account removed or expired")
			return
		}
	}
	if !g.allowRate(cfg, st) {
		g.deny(w, st, http.StatusTooManyRequests, CodeTooMany, "rate-limit", "rate limit exceeded for "+st.id.Name)
		return
	}
	if route.Kind == KindBase {
		if claims == nil {
			g.challenge(w, r, st, "", "", "authentication required")
			return
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
		st.action = "login"
		return
	}
	if route.Kind == KindCatalog {
		scope := "registry:catalog:*"
		if claims == nil || !claims.Grants(token.TypeRegistry, "catalog", token.ActionAll) {
			g.challenge(w, r, st, scope, "insufficient_scope", "the catalog needs an admin token for "+scope)
			return
		}
		if !cfg.IsAdmin(st.id.Name, st.ip) {
			g.deny(w, st, http.StatusForbidden, CodeDenied, "role", "only admins may list the catalog")
			return
		}
		st.action = "catalog"
		g.forward(w, r, st)
		return
	}
	// Repository endpoints: the token must grant the action on exactly
	// this repository (a token for another repository is refused), and
	// the current policy must still allow it.
	if claims == nil || !claims.Grants(token.TypeRepository, route.Repo, action) {
		reason := "authentication required"
		errCode := ""
		if claims != nil {
			reason = fmt.Sprintf("token does not grant %s on repository %s", action, route.Repo)
			errCode = "insufficient_scope"
		}
		g.challenge(w, r, st, scopeFor(route, action), errCode, reason)
		return
	}
	dec := cfg.Authorize(st.id.Name, route.Repo, st.ip)
	if !slices.Contains(dec.Actions, action) {
		reason := dec.Reason
		if reason == "" {
			reason = fmt.Sprintf("%s may not %s %s (roles: %s)", st.id.Name, action, route.Repo, strings.Join(dec.Roles, ", "))
		}
		g.deny(w, st, http.StatusForbidden, CodeDenied, "role", reason)
		return
	}
	st.gated = dec.Gated

	switch {
	case route.Kind == KindManifest && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if dec.Gated && r.Method == http.MethodGet {
			g.gatedGET(w, r, cfg, st)
			return
		}
		if dec.Gated {
			digest, reason, status := g.checkGate(r.Context(), r, cfg, route, st)
			if reason != "" {
				g.deny(w, st, status, CodeDenied, "gate", reason)
				return
			}
			if digest != "" && !route.IsDigest() {
				// Serve exactly the digest the gate checked: a tag moved
				// in between cannot slip through.
				r.URL.Path = "/v2/" + route.Repo + "/manifests/" + digest
				r.URL.RawPath = ""
			}
		}
		if r.Method == http.MethodGet {
			st.event = EventPull
		}
	case route.Kind == KindManifest && r.Method == http.MethodPut:
		g.putManifest(w, r, cfg, st)
		return
	case route.Kind == KindManifest && r.Method == http.MethodDelete:
		if !route.IsDigest() && cfg.immutable(route.Repo, route.Reference) {
			g.deny(w, st, http.StatusForbidden, CodeDenied, "immutable", fmt.Sprintf("tag %s:%s is immutable", route.Repo, route.Reference))
			return
		}
		if route.IsDigest() && g.repoHasImmutableRule(cfg, route.Repo) {
			g.deny(w, st, http.StatusForbidden, CodeDenied, "immutable", fmt.Sprintf("repository %s has immutable tags; manifests cannot be deleted by digest", route.Repo))
			return
		}
		st.event = EventDelete
	case route.Kind == KindBlob && r.Method == http.MethodDelete:
		st.event = EventDelete
	case route.Kind == KindBlob && g.blobs != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if g.blobs.serve(w, r, route.Repo, route.Reference) {
			return
		}
	case route.Kind == KindUpload && r.Method == http.MethodPost:
		// A cross-repository mount reads the source repository: without
		// pull there, fall back to a plain upload (as distribution does).
		q := r.URL.Query()
		if from := q.Get("from"); from != "" || q.Has("mount") {
			if !token.ValidRepository(from) || !claims.Grants(token.TypeRepository, from, token.ActionPull) ||
				!slices.Contains(cfg.Authorize(st.id.Name, from, st.ip).Actions, token.ActionPull) {
				q.Del("from")
				q.Del("mount")
				r.URL.RawQuery = q.Encode()
				st.reason = "cross-repository mount refused (no pull on source); plain upload"
			}
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &countingBody{ReadCloser: r.Body}
	}
	g.forward(w, r, st)
}

func (g *Guard) repoHasImmutableRule(cfg *Config, repo string) bool {
	for _, t := range cfg.ImmutableTags {
		if matchAny(t.repos, repo) {
			return true
		}
	}
	return false
}

// scopeFor is the scope a client must request for route/action. Pushes ask
// for pull,push as docker does.
func scopeFor(route Route, action string) string {
	if route.Repo == "" {
		return ""
	}
	switch action {
	case token.ActionPush:
		return "repository:" + route.Repo + ":pull,push"
	case token.ActionDelete:
		return "repository:" + route.Repo + ":delete"
	}
	return "repository:" + route.Repo + ":pull"
}

func (g *Guard) forward(w http.ResponseWriter, r *http.Request, _ *reqState) {
	g.proxy.ServeHTTP(w, r)
}

// rewrite points the outgoing request at the upstream, with the
// upstream's credentials instead of the client's.
func (g *Guard) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = g.upstream.Scheme
	pr.Out.URL.Host = g.upstream.Host
	pr.Out.Host = g.upstream.Host
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Cookie")
}

// modifyResponse rewrites upstream Location headers (blob redirects,
// upload sessions) to the guard's address, and hides upstream
// authentication failures behind a 502.
func (g *Guard) modifyResponse(resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		body := `{"errors":[{"code":"UNKNOWN","message":"the guard could not authenticate to the upstream registry"}]}` + "\n"
		resp.StatusCode, resp.Status = http.StatusBadGateway, "502 Bad Gateway"
		resp.Header = http.Header{"Content-Type": {"application/json"}}
		resp.Body = io.NopCloser(strings.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
		if st := stateOf(resp.Request); st != nil {
			st.reason = "upstream authentication failed"
		}
		return nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", g.rewriteLocation(loc, resp.Request))
	}
	resp.Header.Del("WWW-Authenticate")
	if st := stateOf(resp.Request); st != nil && st.digest == "" {
		if d := resp.Header.Get("Docker-Content-Digest"); digestRE.MatchString(d) && st.route.Kind == KindManifest {
			st.digest = d
		}
	}
	return nil
}

// rewriteLocation maps an upstream URL to the guard's own. Locations on
// other hosts (storage redirects to S3 and the like) are left alone.
func (g *Guard) rewriteLocation(loc string, out *http.Request) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	if u.Host != "" && u.Host != g.upstream.Host {
		return loc
	}
	// The outgoing request's context carries the client request's state,
	// which knows the guard's address as the client used it.
	base := ""
	if st := stateOf(out); st != nil {
		base = st.base
	}
	if base == "" {
		return u.RequestURI()
	}
	return base + u.RequestURI()
}

func (g *Guard) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if st := stateOf(r); st != nil {
		st.reason = "upstream: " + err.Error()
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	g.log.Warn("upstream request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusBadGateway, CodeUnknown, "upstream registry unavailable", nil)
}

// upstreamDo sends a request of the guard's own to the upstream.
func (g *Guard) upstreamDo(ctx context.Context, method, path string, hdr http.Header) (*http.Response, error) {
	u := *g.upstream
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := g.transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("registry: upstream %s %s: %w", method, path, err)
	}
	return resp, nil
}

func (g *Guard) upstreamGet(ctx context.Context, path, accept string) (*http.Response, error) {
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return g.upstreamDo(ctx, http.MethodGet, path, h)
}

// manifestAccept is what the guard asks for when it resolves a tag itself.
const manifestAccept = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " +
	"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

// resolve returns the digest a manifest reference names in the upstream
// ("" when it does not exist).
func (g *Guard) resolve(ctx context.Context, r *http.Request, repo, ref string) (string, error) {
	accept := manifestAccept
	if r != nil && len(r.Header.Values("Accept")) > 0 {
		accept = strings.Join(r.Header.Values("Accept"), ", ")
	}
	resp, err := g.upstreamDo(ctx, http.MethodHead, "/v2/"+repo+"/manifests/"+ref, http.Header{"Accept": {accept}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", nil
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("registry: resolving %s:%s: upstream answered %s", repo, ref, resp.Status)
	}
	d := resp.Header.Get("Docker-Content-Digest")
	if !digestRE.MatchString(d) {
		return "", fmt.Errorf("registry: resolving %s:%s: upstream sent no valid digest", repo, ref)
	}
	return d, nil
}

// checkGate decides a gated manifest pull. It returns the digest checked,
// and a denial reason (empty when allowed) with its HTTP status.
func (g *Guard) checkGate(ctx context.Context, r *http.Request, cfg *Config, route Route, st *reqState) (digest, reason string, status int) {
	digest = route.Reference
	if !route.IsDigest() {
		d, err := g.resolve(ctx, r, route.Repo, route.Reference)
		if err != nil {
			return "", "pull gate: " + err.Error(), http.StatusBadGateway
		}
		if d == "" {
			return "", "", 0 // unknown tag: the upstream answers 404
		}
		digest = d
	}
	reason, status = g.decide(ctx, cfg, route, st, digest)
	return digest, reason, status
}

// gatedGET serves a gated manifest GET with one upstream request: the
// manifest is fetched (by tag or digest), its digest computed from the
// bytes, the gate decided on that digest, and exactly those bytes served.
func (g *Guard) gatedGET(w http.ResponseWriter, r *http.Request, cfg *Config, st *reqState) {
	route := st.route
	accept := manifestAccept
	if len(r.Header.Values("Accept")) > 0 {
		accept = strings.Join(r.Header.Values("Accept"), ", ")
	}
	resp, err := g.upstreamDo(r.Context(), http.MethodGet, "/v2/"+route.Repo+"/manifests/"+route.Reference, http.Header{"Accept": {accept}})
	if err != nil {
		g.deny(w, st, http.StatusBadGateway, CodeUnknown, "gate", "pull gate: "+err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Unknown manifests and upstream errors, as the proxy passes them.
		if err := g.modifyResponse(withRequest(resp, r)); err == nil {
			copyHeader(w.Header(), resp.Header)
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, cfg.MaxManifestBytes+1))
	if err != nil {
		g.deny(w, st, http.StatusBadGateway, CodeUnknown, "gate", "pull gate: reading manifest: "+err.Error())
		return
	}
	if int64(len(body)) > cfg.MaxManifestBytes {
		g.deny(w, st, http.StatusForbidden, CodeDenied, "gate", fmt.Sprintf("pull gate: manifest larger than %d bytes", cfg.MaxManifestBytes))
		return
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if (route.IsDigest() && route.Reference != digest) || (resp.Header.Get("Docker-Content-Digest") != "" && resp.Header.Get("Docker-Content-Digest") != digest) {
		g.deny(w, st, http.StatusBadGateway, CodeDenied, "gate", "pull gate: upstream manifest does not match its digest")
		return
	}
	if reason, status := g.decide(r.Context(), cfg, route, st, digest); reason != "" {
		g.deny(w, st, status, CodeDenied, "gate", reason)
		return
	}
	h := w.Header()
	for _, k := range []string{"Content-Type", "Etag", "Docker-Distribution-Api-Version"} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	st.event = EventPull
	_, _ = w.Write(body)
}

// decide applies the gate to a manifest digest: verdict, signature,
// policy. It returns a denial reason (empty when allowed) and its status.
func (g *Guard) decide(ctx context.Context, cfg *Config, route Route, st *reqState, digest string) (reason string, status int) {
	st.digest = digest
	v, err := g.store.Get(digest)
	switch {
	case errors.Is(err, ErrNoVerdict):
		if *cfg.Gate.RequireScan {
			if g.scanner != nil {
				_ = g.scans.enqueue(scanJob{repo: route.Repo, digest: digest})
			}
			return fmt.Sprintf("image %s@%s has not been scanned yet; pulls are allowed once it is scanned and passes the policy", route.Repo, digest), http.StatusForbidden
		}
	case err != nil:
		return "pull gate: " + err.Error(), http.StatusInternalServerError
	case v.Status != "scanned":
		return fmt.Sprintf("image %s@%s could not be scanned (%s); pull refused", route.Repo, digest, v.Error), http.StatusForbidden
	}
	signed := false
	if cfg.signaturesRequired(route.Repo) {
		target := digest
		if v != nil && v.Parent != "" {
			if err := g.signatureOK(ctx, route.Repo, digest); err == nil {
				signed = true
			}
			target = v.Parent
		}
		if !signed {
			if err := g.signatureOK(ctx, route.Repo, target); err != nil {
				return fmt.Sprintf("image %s@%s: signature required by a trusted key: %v", route.Repo, digest, err), http.StatusForbidden
			}
			signed = true
		}
	}
	if v != nil {
		in := GateInput{Repository: route.Repo, Reference: route.Reference, Digest: digest, Identity: st.id.Name, Verdict: v, Signed: signed}
		denials, err := g.policy().Evaluate(ctx, in)
		if err != nil {
			return "pull gate: policy error (fail closed): " + err.Error(), http.StatusForbidden
		}
		if len(denials) > 0 {
			return fmt.Sprintf("image %s@%s violates the pull policy: %s", route.Repo, digest, strings.Join(denials, "; ")), http.StatusForbidden
		}
	}
	return "", 0
}

// sigCacheTTL is how long a verified signature is trusted without
// re-reading it (verification failures are never cached).
const sigCacheTTL = 30 * time.Second

func (g *Guard) signatureOK(ctx context.Context, repo, digest string) error {
	key := repo + "@" + digest
	if t, ok := g.sigCache.Load(key); ok && time.Since(t.(time.Time)) < sigCacheTTL {
		return nil
	}
	if err := g.verifySignature(ctx, repo, digest); err != nil {
		return err
	}
	g.sigCache.Store(key, time.Now())
	return nil
}

// Manifest media types the guard accepts.
var manifestTypes = map[string]bool{
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
}

var imageConfigTypes = map[string]bool{
	"application/vnd.oci.image.config.v1+json":       true,
	"application/vnd.docker.container.image.v1+json": true,
}

var sigTagRE = regexp.MustCompile(`^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$`)

// maxDescriptors bounds layers and index entries of a manifest.
const maxDescriptors = 1000

// ValidateManifest checks an uploaded manifest: a JSON object of schema
// version 2 with a supported media type (matching contentType when that is
// a manifest type), valid descriptor digests and sizes, and bounded
// counts. Schema 1 manifests are refused.
func ValidateManifest(body []byte, contentType string) (*ociManifest, error) {
	var m ociManifest
	dec := jsonDecoder(body)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("manifest has trailing data")
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d is not supported (want 2)", m.SchemaVersion)
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	mt := m.MediaType
	if mt == "" {
		mt = ct
	}
	if !manifestTypes[mt] {
		return nil, fmt.Errorf("media type %q is not a supported manifest type", mt)
	}
	if manifestTypes[ct] && ct != mt {
		return nil, fmt.Errorf("Content-Type %q does not match the manifest's mediaType %q", ct, mt)
	}
	m.MediaType = mt
	check := func(what string, d ociDescriptor) error {
		if !digestRE.MatchString(d.Digest) {
			return fmt.Errorf("%s: invalid digest %q", what, d.Digest)
		}
		if d.Size < 0 {
			return fmt.Errorf("%s: negative size", what)
		}
		return nil
	}
	isIndex := strings.Contains(mt, "index") || strings.Contains(mt, "list")
	if isIndex {
		if len(m.Manifests) > maxDescriptors {
			return nil, fmt.Errorf("index lists %d manifests (limit %d)", len(m.Manifests), maxDescriptors)
		}
		for i, d := range m.Manifests {
			if err := check(fmt.Sprintf("manifests[%d]", i), d); err != nil {
				return nil, err
			}
		}
	} else {
		if m.Config == nil {
			return nil, errors.New("image manifest has no config descriptor")
		}
		if err := check("config", *m.Config); err != nil {
			return nil, err
		}
		if len(m.Layers) > maxDescriptors {
			return nil, fmt.Errorf("manifest has %d layers (limit %d)", len(m.Layers), maxDescriptors)
		}
		for i, d := range m.Layers {
			if err := check(fmt.Sprintf("layers[%d]", i), d); err != nil {
				return nil, err
			}
		}
	}
	if m.Subject != nil {
		if err := check("subject", *m.Subject); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// putManifest validates a pushed manifest, enforces tag immutability,
// forwards it, and queues a scan when the upstream accepted it.
func (g *Guard) putManifest(w http.ResponseWriter, r *http.Request, cfg *Config, st *reqState) {
	route := st.route
	if r.ContentLength > cfg.MaxManifestBytes {
		g.deny(w, st, http.StatusRequestEntityTooLarge, CodeSizeInvalid, "manifest-invalid",
			fmt.Sprintf("manifest of %d bytes exceeds the limit of %d", r.ContentLength, cfg.MaxManifestBytes))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, cfg.MaxManifestBytes+1))
	if err != nil {
		g.deny(w, st, http.StatusBadRequest, CodeManifestInvalid, "manifest-invalid", "reading manifest: "+err.Error())
		return
	}
	if int64(len(body)) > cfg.MaxManifestBytes {
		g.deny(w, st, http.StatusRequestEntityTooLarge, CodeSizeInvalid, "manifest-invalid",
			fmt.Sprintf("manifest exceeds the limit of %d bytes", cfg.MaxManifestBytes))
		return
	}
	m, err := ValidateManifest(body, r.Header.Get("Content-Type"))
	if err != nil {
		g.deny(w, st, http.StatusBadRequest, CodeManifestInvalid, "manifest-invalid", "invalid manifest: "+err.Error())
		return
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if route.IsDigest() && route.Reference != digest && strings.HasPrefix(route.Reference, "sha256:") {
		g.deny(w, st, http.StatusBadRequest, CodeManifestInvalid, "manifest-invalid", fmt.Sprintf("manifest digest %s does not match the reference %s", digest, route.Reference))
		return
	}
	st.digest = digest
	if !route.IsDigest() && cfg.immutable(route.Repo, route.Reference) {
		cur, err := g.resolve(r.Context(), nil, route.Repo, route.Reference)
		if err != nil {
			g.deny(w, st, http.StatusBadGateway, CodeUnknown, "immutable", "checking tag immutability: "+err.Error())
			return
		}
		if cur != "" && cur != digest {
			g.deny(w, st, http.StatusForbidden, CodeDenied, "immutable",
				fmt.Sprintf("tag %s:%s is immutable (it points to %s)", route.Repo, route.Reference, cur))
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Type", m.MediaType)
	rec := &statusPeek{ResponseWriter: w}
	g.forward(rec, r, st)
	if rec.status != http.StatusCreated {
		return
	}
	st.event = EventPush
	if g.scanner == nil || !scannable(route, m) {
		return
	}
	job := scanJob{repo: route.Repo, digest: digest}
	for _, c := range m.Manifests {
		job.children = append(job.children, c.Digest)
	}
	if err := g.scans.enqueue(job); err != nil {
		g.log.Warn("scan not queued; the image stays unscanned", "repository", route.Repo, "digest", digest, "err", err)
	}
}

// scannable tells images from signatures, attestations and other
// artifacts.
func scannable(route Route, m *ociManifest) bool {
	if sigTagRE.MatchString(route.Reference) {
		return false
	}
	if m.Config != nil {
		if !imageConfigTypes[m.Config.MediaType] {
			return false
		}
		for _, l := range m.Layers {
			if l.MediaType == CosignPayloadMediaType {
				return false
			}
		}
	}
	return true
}

// statusPeek remembers the status code written through it.
type statusPeek struct {
	http.ResponseWriter
	status int
}

func (s *statusPeek) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusPeek) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusPeek) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequest sets the response's request to the client's (modifyResponse
// reads the request state from it).
func withRequest(resp *http.Response, r *http.Request) *http.Response {
	resp.Request = r
	return resp
}

// hopHeaders are not forwarded (RFC 9110 section 7.6.1).
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if hopHeaders[k] || strings.HasPrefix(k, "Proxy-") {
			continue
		}
		dst[k] = v
	}
}
