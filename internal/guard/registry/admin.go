package registry

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// serveAdmin is the admin API, for admins only (HTTP basic or a bearer
// token granting registry:catalog:*):
//
//	POST /-/picket/rescan            queue every stored image for a new scan
//	GET  /-/picket/verdicts/DIGEST   the stored verdict of a manifest
func (g *Guard) serveAdmin(w http.ResponseWriter, r *http.Request, st *reqState) {
	cfg := g.cfg()
	st.action = "admin"
	if user, pass, ok := r.BasicAuth(); ok {
		if !g.limiter.allow("addr:"+st.ip.String(), tokenRate) {
			g.deny(w, st, http.StatusTooManyRequests, CodeTooMany, "rate-limit", "too many requests from "+st.ip.String())
			return
		}
		id, err := g.authenticateBasic(user, pass, time.Now())
		if err != nil {
			st.id = Identity{Name: user, Method: "password"}
			g.deny(w, st, http.StatusUnauthorized, CodeUnauthorized, "admin", err.Error())
			return
		}
		st.id = id
	} else if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c, err := g.tokens.Verify(strings.TrimSpace(tok))
		if err != nil || !c.Grants(token.TypeRegistry, "catalog", token.ActionAll) {
			g.deny(w, st, http.StatusUnauthorized, CodeUnauthorized, "admin", "admin token required")
			return
		}
		st.id, st.tokenID = Identity{Name: c.Subject, Method: "bearer"}, c.ID
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="picket-registry-guard-admin"`)
		g.deny(w, st, http.StatusUnauthorized, CodeUnauthorized, "admin", "authentication required")
		return
	}
	if !cfg.IsAdmin(st.id.Name, st.ip) {
		g.deny(w, st, http.StatusForbidden, CodeDenied, "admin", st.id.Name+" is not an admin")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/-/picket/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case path == "rescan" && r.Method == http.MethodPost:
		st.action = "rescan"
		n, err := g.Rescan()
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, CodeUnknown, err.Error(), nil)
			st.reason = err.Error()
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"queued": n})
	case strings.HasPrefix(path, "verdicts/") && r.Method == http.MethodGet:
		d := strings.TrimPrefix(path, "verdicts/")
		if !digestRE.MatchString(d) {
			writeError(w, http.StatusBadRequest, CodeNameInvalid, "invalid digest", nil)
			return
		}
		st.digest = d
		v, err := g.store.Get(d)
		if err != nil {
			writeError(w, http.StatusNotFound, CodeUnknown, err.Error(), nil)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	default:
		writeError(w, http.StatusNotFound, CodeUnsupported, "unknown admin endpoint", nil)
	}
}
