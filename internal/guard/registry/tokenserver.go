package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

func jsonDecoder(b []byte) *json.Decoder { return json.NewDecoder(bytes.NewReader(b)) }

// maxTokenForm bounds a token request's form body.
const maxTokenForm = 16 << 10

// serveToken is the token endpoint of the distribution token flow:
// GET /token?service=S&scope=repository:NAME:ACTIONS (Basic auth, a client
// certificate, or none for anonymous guests), and the OAuth2 password
// grant (POST). Each requested scope is granted the intersection of the
// requested actions and those the identity's roles allow.
func (g *Guard) serveToken(w http.ResponseWriter, r *http.Request, st *reqState) {
	cfg := g.cfg()
	st.action = "token"
	var (
		user, pass string
		hasBasic   bool
		scopes     []string
		service    string
		oauth      bool
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		scopes, service = q["scope"], q.Get("service")
		user, pass, hasBasic = r.BasicAuth()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
		if err := r.ParseForm(); err != nil {
			g.tokenError(w, st, http.StatusBadRequest, "invalid_request", "bad form: "+err.Error())
			return
		}
		oauth = true
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			g.tokenError(w, st, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported (use password)", gt))
			return
		}
		user, pass, hasBasic = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		service = r.PostForm.Get("service")
		scopes = strings.Fields(r.PostForm.Get("scope"))
	default:
		g.tokenError(w, st, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}
	if service != "" && service != cfg.Service {
		g.tokenError(w, st, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown service %q (this guard is %q)", service, cfg.Service))
		return
	}
	// Brute force: the per-address limit applies before any bcrypt work.
	if !g.limiter.allow("addr:"+st.ip.String(), tokenRate) {
		g.metrics.tokens.WithLabelValues("rate-limited").Inc()
		g.deny(w, st, http.StatusTooManyRequests, CodeTooMany, "rate-limit", "too many token requests from "+st.ip.String())
		return
	}
	id := Identity{Name: Anonymous, Method: "anonymous"}
	switch {
	case hasBasic:
		var err error
		id, err = g.authenticateBasic(user, pass, time.Now())
		if err != nil {
			st.id = Identity{Name: user, Method: "password"}
			g.metrics.tokens.WithLabelValues("auth-failed").Inc()
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", cfg.Service))
			g.tokenError(w, st, http.StatusUnauthorized, "invalid_grant", err.Error())
			return
		}
	case r.TLS != nil && len(r.TLS.VerifiedChains) > 0:
		cert := r.TLS.VerifiedChains[0][0]
		if cert.Subject.CommonName == "" {
			g.tokenError(w, st, http.StatusUnauthorized, "invalid_grant", "client certificate has no common name")
			return
		}
		// Certificate identities live in their own namespace, so a
		// certificate can never pass for a password user of that name.
		id = Identity{Name: CertPrefix + cert.Subject.CommonName, Method: "mtls"}
	case !cfg.Anonymous:
		st.id = id
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", cfg.Service))
		g.metrics.tokens.WithLabelValues("auth-required").Inc()
		g.tokenError(w, st, http.StatusUnauthorized, "invalid_client", "authentication required")
		return
	}
	st.id = id
	if !g.allowRate(cfg, st) {
		g.deny(w, st, http.StatusTooManyRequests, CodeTooMany, "rate-limit", "rate limit exceeded for "+id.Name)
		return
	}
	requested, err := token.ParseScopes(scopes)
	if err != nil {
		g.tokenError(w, st, http.StatusBadRequest, "invalid_scope", err.Error())
		return
	}
	var granted []token.Access
	var notes []string
	for _, a := range requested {
		var allowed []string
		switch a.Type {
		case token.TypeRepository:
			d := cfg.Authorize(id.Name, a.Name, st.ip)
			allowed = d.Actions
			if len(allowed) == 0 {
				notes = append(notes, d.Reason)
			}
		}
		acts := token.Intersect(a.Actions, allowed)
		if a.Type == token.TypeRegistry && cfg.IsAdmin(id.Name, st.ip) && slices.Contains(a.Actions, token.ActionAll) {
			acts = []string{token.ActionAll}
		}
		if len(acts) > 0 {
			granted = append(granted, token.Access{Type: a.Type, Name: a.Name, Actions: acts})
		}
	}
	tok, jti, exp, err := g.tokens.Issue(id.Name, granted)
	if err != nil {
		g.tokenError(w, st, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	if !id.Expires.IsZero() && id.Expires.Before(exp) {
		// A robot's token never outlives the robot; the per-request check
		// refuses it after the robot's expiry in any case.
		exp = id.Expires
	}
	st.tokenID = jti
	var gs []string
	for _, a := range granted {
		gs = append(gs, a.String())
	}
	st.reason = "granted [" + strings.Join(gs, " ") + "]"
	if len(notes) > 0 {
		st.reason += "; " + strings.Join(notes, "; ")
	}
	if len(scopes) == 0 {
		st.action = "login"
	}
	g.metrics.tokens.WithLabelValues("issued").Inc()
	now := time.Now().UTC()
	resp := map[string]any{
		"access_token": tok,
		"expires_in":   int(time.Until(exp).Seconds()),
		"issued_at":    now.Format(time.RFC3339),
	}
	if !oauth {
		resp["token"] = tok
	} else {
		resp["scope"] = strings.Join(gs, " ")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

func (g *Guard) tokenError(w http.ResponseWriter, st *reqState, status int, code, msg string) {
	st.decision, st.reason = "deny", msg
	g.metrics.denials.WithLabelValues("token").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Both the OAuth2 error shape and the registry's, so docker login
	// prints the message.
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": msg,
		"errors": []ociError{{Code: CodeUnauthorized, Message: msg}},
	})
}
