package registry

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// Kind is the kind of a distribution API endpoint.
type Kind int

// Endpoint kinds.
const (
	KindBase      Kind = iota + 1 // /v2/
	KindCatalog                   // /v2/_catalog
	KindManifest                  // /v2/<name>/manifests/<reference>
	KindBlob                      // /v2/<name>/blobs/<digest>
	KindUpload                    // /v2/<name>/blobs/uploads/[<uuid>]
	KindTags                      // /v2/<name>/tags/list
	KindReferrers                 // /v2/<name>/referrers/<digest>
)

func (k Kind) String() string {
	switch k {
	case KindBase:
		return "base"
	case KindCatalog:
		return "catalog"
	case KindManifest:
		return "manifest"
	case KindBlob:
		return "blob"
	case KindUpload:
		return "upload"
	case KindTags:
		return "tags"
	case KindReferrers:
		return "referrers"
	}
	return "unknown"
}

// Route is a parsed /v2/ request path.
type Route struct {
	Kind      Kind
	Repo      string // repository name (empty for base and catalog)
	Reference string // tag or digest (manifests), digest (blobs, referrers), upload id
}

// IsDigest reports whether the route's reference is a digest.
func (r Route) IsDigest() bool { return digestRE.MatchString(r.Reference) }

// ErrRoute is wrapped by routing errors: the path is not a valid
// distribution API path (a 404 NAME_INVALID/UNSUPPORTED for clients).
var ErrRoute = errors.New("registry: invalid path")

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
	uuidRE   = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,256}$`)
)

// maxPathLength bounds the request path before it is parsed.
const maxPathLength = 2048

// ParseRoute parses the escaped path of a request ("/v2/team/app/manifests/1.0").
// It works on the raw, still percent-encoded path and refuses any
// percent-encoding, dot segments, empty components and names outside the
// distribution grammar, so that the guard and the upstream registry can
// never disagree on which repository a request is for.
func ParseRoute(escapedPath string) (Route, error) {
	if len(escapedPath) > maxPathLength {
		return Route{}, fmt.Errorf("%w: path longer than %d bytes", ErrRoute, maxPathLength)
	}
	if escapedPath == "/v2" || escapedPath == "/v2/" {
		return Route{Kind: KindBase}, nil
	}
	rest, ok := strings.CutPrefix(escapedPath, "/v2/")
	if !ok {
		return Route{}, fmt.Errorf("%w: not under /v2/", ErrRoute)
	}
	if strings.ContainsAny(rest, "%\\") {
		return Route{}, fmt.Errorf("%w: encoded characters in path", ErrRoute)
	}
	if rest == "_catalog" {
		return Route{Kind: KindCatalog}, nil
	}
	// Upload sessions start at ".../blobs/uploads/" (with the slash).
	if strings.HasSuffix(rest, "/blobs/uploads/") {
		rest = strings.TrimSuffix(rest, "/")
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return Route{}, fmt.Errorf("%w: empty or dot segment", ErrRoute)
		}
	}
	n := len(parts)
	var r Route
	switch {
	case n >= 3 && parts[n-2] == "manifests":
		r = Route{Kind: KindManifest, Repo: strings.Join(parts[:n-2], "/"), Reference: parts[n-1]}
		if !tagRE.MatchString(r.Reference) && !digestRE.MatchString(r.Reference) {
			return Route{}, fmt.Errorf("%w: invalid reference %q", ErrRoute, r.Reference)
		}
	case n >= 3 && parts[n-1] == "uploads" && parts[n-2] == "blobs":
		r = Route{Kind: KindUpload, Repo: strings.Join(parts[:n-2], "/")}
	case n >= 4 && parts[n-2] == "uploads" && parts[n-3] == "blobs":
		r = Route{Kind: KindUpload, Repo: strings.Join(parts[:n-3], "/"), Reference: parts[n-1]}
		if !uuidRE.MatchString(r.Reference) {
			return Route{}, fmt.Errorf("%w: invalid upload id", ErrRoute)
		}
	case n >= 3 && parts[n-2] == "blobs":
		r = Route{Kind: KindBlob, Repo: strings.Join(parts[:n-2], "/"), Reference: parts[n-1]}
		if !digestRE.MatchString(r.Reference) {
			return Route{}, fmt.Errorf("%w: invalid digest %q", ErrRoute, r.Reference)
		}
	case n >= 3 && parts[n-2] == "tags" && parts[n-1] == "list":
		r = Route{Kind: KindTags, Repo: strings.Join(parts[:n-2], "/")}
	case n >= 3 && parts[n-2] == "referrers":
		r = Route{Kind: KindReferrers, Repo: strings.Join(parts[:n-2], "/"), Reference: parts[n-1]}
		if !digestRE.MatchString(r.Reference) {
			return Route{}, fmt.Errorf("%w: invalid digest %q", ErrRoute, r.Reference)
		}
	default:
		return Route{}, fmt.Errorf("%w: unknown endpoint", ErrRoute)
	}
	if !token.ValidRepository(r.Repo) {
		return Route{}, fmt.Errorf("%w: invalid repository name %q", ErrRoute, r.Repo)
	}
	return r, nil
}

// Action returns the repository action a request needs: pull for reads,
// push for writes and uploads, delete for DELETE on manifests and blobs.
// ok is false for methods the endpoint does not support.
func (r Route) Action(method string) (action string, ok bool) {
	read := method == http.MethodGet || method == http.MethodHead
	switch r.Kind {
	case KindBase:
		return "", read
	case KindCatalog:
		return token.ActionAll, read
	case KindManifest:
		switch {
		case read:
			return token.ActionPull, true
		case method == http.MethodPut:
			return token.ActionPush, true
		case method == http.MethodDelete:
			return token.ActionDelete, true
		}
	case KindBlob:
		switch {
		case read:
			return token.ActionPull, true
		case method == http.MethodDelete:
			return token.ActionDelete, true
		}
	case KindUpload:
		switch method {
		case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodGet, http.MethodDelete:
			if r.Reference == "" && method != http.MethodPost {
				return "", false
			}
			return token.ActionPush, true
		}
	case KindTags, KindReferrers:
		return token.ActionPull, read
	}
	return "", false
}
