package docker

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Request is an Engine API request after normalisation: what the policy
// sees and what is forwarded to the daemon are built from the same fields.
type Request struct {
	Method   string
	Version  string     // "1.47" from a /v1.47 prefix, "" without one
	Path     string     // clean path without the version prefix, e.g. /containers/abc/start
	Query    url.Values // parsed query; no ambiguous duplicate keys
	Endpoint string     // operation name, e.g. "container.create"; "other" when unknown
	Params   map[string]string
}

// URI returns the request URI to forward: the validated version prefix,
// the clean path and the re-encoded query.
func (r *Request) URI() string {
	u := url.URL{Path: r.Path, RawQuery: r.Query.Encode()}
	if r.Version != "" {
		u.Path = "/v" + r.Version + r.Path
	}
	return u.RequestURI()
}

// BadRequestError is a request refused before any policy runs (HTTP 400).
type BadRequestError struct{ Reason string }

func (e *BadRequestError) Error() string { return "guard: bad request: " + e.Reason }

func badRequest(format string, args ...any) error {
	return &BadRequestError{Reason: fmt.Sprintf(format, args...)}
}

var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)?$`)
var versionValue = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{1,3}$`)

// repeatableQuery are query keys Docker clients legitimately repeat (build
// tags); every value is visible to the policy. Any other key given twice is
// ambiguous (which one does the daemon use?) and refused.
var repeatableQuery = map[string]bool{"t": true}

// MaxURI bounds the request URI.
const MaxURI = 8 << 10

// ParseRequest normalises method and request URI (as sent on the wire,
// e.g. "/v1.47/containers/create?name=x"). It refuses encoded slashes and
// backslashes, dot segments, empty segments, control characters, malformed
// or ambiguous queries and malformed version prefixes.
func ParseRequest(method, requestURI string) (*Request, error) {
	if len(requestURI) > MaxURI {
		return nil, badRequest("request URI longer than %d bytes", MaxURI)
	}
	switch method {
	case "GET", "HEAD", "POST", "PUT", "DELETE":
	default:
		return nil, badRequest("method %q not allowed", method)
	}
	if !strings.HasPrefix(requestURI, "/") {
		return nil, badRequest("request URI must be a path")
	}
	rawPath, rawQuery, _ := strings.Cut(requestURI, "?")
	if strings.Contains(rawPath, "#") || strings.Contains(rawQuery, "#") {
		return nil, badRequest("fragment in request URI")
	}
	lower := strings.ToLower(rawPath)
	for _, enc := range []string{"%2f", "%5c", "%00", "%2e"} {
		if strings.Contains(lower, enc) {
			return nil, badRequest("encoded %q in path", enc)
		}
	}
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, badRequest("path: %v", err)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return nil, badRequest("control character or backslash in path")
		}
	}
	if p != "/" && (path.Clean(p) != strings.TrimSuffix(p, "/") || strings.HasSuffix(p, "//")) {
		return nil, badRequest("path %q is not clean (dot or empty segments)", p)
	}
	req := &Request{Method: method, Path: strings.TrimSuffix(p, "/")}
	if req.Path == "" {
		req.Path = "/"
	}
	if m := versionPrefix.FindStringSubmatch(req.Path); m != nil {
		if !versionValue.MatchString(m[1]) {
			return nil, badRequest("malformed API version %q", m[1])
		}
		req.Version = m[1]
		req.Path = m[2]
		if req.Path == "" {
			req.Path = "/"
		}
	}
	if strings.Contains(rawQuery, ";") {
		return nil, badRequest("';' in query")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("query: %v", err)
	}
	for k, vs := range q {
		if len(vs) > 1 && !repeatableQuery[k] {
			return nil, badRequest("query key %q given %d times", k, len(vs))
		}
	}
	req.Query = q
	req.Endpoint, req.Params = classify(method, req.Path)
	return req, nil
}

// endpoint patterns: {x} matches one segment, {x...} one or more.
type route struct {
	method, pattern, name string
	segs                  []string
}

// routes names the operations policies and metrics talk about. Image and
// plugin names contain slashes, hence {name...}.
var routes = compileRoutes([]route{
	{method: "GET", pattern: "/_ping", name: "ping"},
	{method: "HEAD", pattern: "/_ping", name: "ping"},
	{method: "GET", pattern: "/version", name: "version"},
	{method: "GET", pattern: "/info", name: "info"},
	{method: "GET", pattern: "/events", name: "events"},
	{method: "GET", pattern: "/containers/json", name: "container.list"},
	{method: "POST", pattern: "/containers/create", name: "container.create"},
	{method: "GET", pattern: "/containers/{id}/json", name: "container.inspect"},
	{method: "GET", pattern: "/containers/{id}/logs", name: "container.logs"},
	{method: "GET", pattern: "/containers/{id}/stats", name: "container.stats"},
	{method: "GET", pattern: "/containers/{id}/top", name: "container.top"},
	{method: "GET", pattern: "/containers/{id}/archive", name: "container.archive.get"},
	{method: "HEAD", pattern: "/containers/{id}/archive", name: "container.archive.head"},
	{method: "PUT", pattern: "/containers/{id}/archive", name: "container.archive.put"},
	{method: "GET", pattern: "/containers/{id}/export", name: "container.export"},
	{method: "POST", pattern: "/containers/{id}/start", name: "container.start"},
	{method: "POST", pattern: "/containers/{id}/stop", name: "container.stop"},
	{method: "POST", pattern: "/containers/{id}/restart", name: "container.restart"},
	{method: "POST", pattern: "/containers/{id}/kill", name: "container.kill"},
	{method: "POST", pattern: "/containers/{id}/wait", name: "container.wait"},
	{method: "POST", pattern: "/containers/{id}/attach", name: "container.attach"},
	{method: "GET", pattern: "/containers/{id}/attach/ws", name: "container.attach"},
	{method: "POST", pattern: "/containers/{id}/resize", name: "container.resize"},
	{method: "POST", pattern: "/containers/{id}/update", name: "container.update"},
	{method: "POST", pattern: "/containers/{id}/rename", name: "container.rename"},
	{method: "POST", pattern: "/containers/{id}/pause", name: "container.pause"},
	{method: "POST", pattern: "/containers/{id}/unpause", name: "container.unpause"},
	{method: "POST", pattern: "/containers/{id}/exec", name: "exec.create"},
	{method: "POST", pattern: "/containers/{id}/commit", name: "container.commit"},
	{method: "POST", pattern: "/commit", name: "container.commit"},
	{method: "DELETE", pattern: "/containers/{id}", name: "container.delete"},
	{method: "POST", pattern: "/containers/prune", name: "container.prune"},
	{method: "POST", pattern: "/exec/{id}/start", name: "exec.start"},
	{method: "POST", pattern: "/exec/{id}/resize", name: "exec.resize"},
	{method: "GET", pattern: "/exec/{id}/json", name: "exec.inspect"},
	{method: "GET", pattern: "/images/json", name: "image.list"},
	{method: "POST", pattern: "/images/create", name: "image.pull"},
	{method: "POST", pattern: "/images/load", name: "image.load"},
	{method: "GET", pattern: "/images/get", name: "image.save"},
	{method: "GET", pattern: "/images/search", name: "image.search"},
	{method: "POST", pattern: "/images/prune", name: "image.prune"},
	{method: "POST", pattern: "/build", name: "image.build"},
	{method: "POST", pattern: "/build/prune", name: "build.prune"},
	{method: "POST", pattern: "/build/cancel", name: "build.cancel"},
	{method: "POST", pattern: "/session", name: "session"},
	{method: "POST", pattern: "/grpc", name: "grpc"},
	{method: "GET", pattern: "/images/{name...}/json", name: "image.inspect"},
	{method: "GET", pattern: "/images/{name...}/history", name: "image.history"},
	{method: "GET", pattern: "/images/{name...}/get", name: "image.save"},
	{method: "POST", pattern: "/images/{name...}/push", name: "image.push"},
	{method: "POST", pattern: "/images/{name...}/tag", name: "image.tag"},
	{method: "DELETE", pattern: "/images/{name...}", name: "image.delete"},
	{method: "GET", pattern: "/volumes", name: "volume.list"},
	{method: "POST", pattern: "/volumes/create", name: "volume.create"},
	{method: "POST", pattern: "/volumes/prune", name: "volume.prune"},
	{method: "GET", pattern: "/volumes/{name}", name: "volume.inspect"},
	{method: "DELETE", pattern: "/volumes/{name}", name: "volume.delete"},
	{method: "GET", pattern: "/networks", name: "network.list"},
	{method: "POST", pattern: "/networks/create", name: "network.create"},
	{method: "POST", pattern: "/networks/prune", name: "network.prune"},
	{method: "POST", pattern: "/networks/{id}/connect", name: "network.connect"},
	{method: "POST", pattern: "/networks/{id}/disconnect", name: "network.disconnect"},
	{method: "GET", pattern: "/networks/{id}", name: "network.inspect"},
	{method: "DELETE", pattern: "/networks/{id}", name: "network.delete"},
	{method: "POST", pattern: "/services/create", name: "service.create"},
	{method: "POST", pattern: "/services/{id}/update", name: "service.update"},
	{method: "GET", pattern: "/plugins", name: "plugin.list"},
	{method: "GET", pattern: "/plugins/privileges", name: "plugin.privileges"},
	{method: "POST", pattern: "/plugins/pull", name: "plugin.pull"},
	{method: "POST", pattern: "/plugins/create", name: "plugin.create"},
	{method: "POST", pattern: "/plugins/{name...}/upgrade", name: "plugin.upgrade"},
	{method: "POST", pattern: "/plugins/{name...}/set", name: "plugin.set"},
	{method: "POST", pattern: "/plugins/{name...}/enable", name: "plugin.enable"},
	{method: "POST", pattern: "/plugins/{name...}/disable", name: "plugin.disable"},
	{method: "POST", pattern: "/plugins/{name...}/push", name: "plugin.push"},
	{method: "DELETE", pattern: "/plugins/{name...}", name: "plugin.delete"},
	{method: "POST", pattern: "/swarm/init", name: "swarm.init"},
	{method: "POST", pattern: "/swarm/join", name: "swarm.join"},
	{method: "POST", pattern: "/swarm/leave", name: "swarm.leave"},
	{method: "POST", pattern: "/swarm/update", name: "swarm.update"},
	{method: "GET", pattern: "/swarm/unlockkey", name: "swarm.unlockkey"},
	{method: "POST", pattern: "/secrets/create", name: "secret.create"},
	{method: "POST", pattern: "/configs/create", name: "config.create"},
	{method: "POST", pattern: "/auth", name: "auth"},
	{method: "GET", pattern: "/system/df", name: "system.df"},
	{method: "GET", pattern: "/distribution/{name...}/json", name: "distribution.inspect"},
})

func compileRoutes(rs []route) []route {
	for i := range rs {
		rs[i].segs = strings.Split(strings.TrimPrefix(rs[i].pattern, "/"), "/")
	}
	return rs
}

// classify returns the operation name and path parameters.
func classify(method, p string) (string, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, r := range routes {
		if r.method != method {
			continue
		}
		if params, ok := matchSegs(r.segs, segs); ok {
			return r.name, params
		}
	}
	return "other", nil
}

func matchSegs(pat, segs []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	i := 0
	for pi, ps := range pat {
		switch {
		case strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "...}"):
			rest := len(pat) - pi - 1 // literal segments after the wildcard
			n := len(segs) - i - rest
			if n < 1 {
				return nil, false
			}
			set(ps[1:len(ps)-4], strings.Join(segs[i:i+n], "/"))
			i += n
		case strings.HasPrefix(ps, "{"):
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			set(ps[1:len(ps)-1], segs[i])
			i++
		default:
			if i >= len(segs) || segs[i] != ps {
				return nil, false
			}
			i++
		}
	}
	if i != len(segs) {
		return nil, false
	}
	return params, true
}
