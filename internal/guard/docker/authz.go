package docker

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// AuthZRequest is what dockerd posts to /AuthZPlugin.AuthZReq and
// /AuthZPlugin.AuthZRes (moby pkg/authorization.Request).
type AuthZRequest struct {
	User               string            `json:"User,omitempty"`
	UserAuthNMethod    string            `json:"UserAuthNMethod,omitempty"`
	RequestMethod      string            `json:"RequestMethod,omitempty"`
	RequestURI         string            `json:"RequestURI,omitempty"`
	RequestBody        []byte            `json:"RequestBody,omitempty"`
	RequestHeaders     map[string]string `json:"RequestHeaders,omitempty"`
	ResponseStatusCode int               `json:"ResponseStatusCode,omitempty"`
	ResponseBody       []byte            `json:"ResponseBody,omitempty"`
	ResponseHeaders    map[string]string `json:"ResponseHeaders,omitempty"`
	// RequestPeerCertificates is left raw: the guard identifies the
	// caller by User, which dockerd sets from the verified certificate.
	RequestPeerCertificates json.RawMessage `json:"RequestPeerCertificates,omitempty"`
}

// AuthZResponse is the plugin's answer (moby pkg/authorization.Response).
type AuthZResponse struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg,omitempty"`
	Err   string `json:"Err,omitempty"`
}

// pluginContentType is the Docker plugin protocol's media type.
const pluginContentType = "application/vnd.docker.plugins.v1.2+json"

// AuthZHandler serves the Docker AuthZ plugin protocol with the guard's
// engine: /Plugin.Activate, /AuthZPlugin.AuthZReq, /AuthZPlugin.AuthZRes.
// Identities are dockerd's User (the TLS client certificate's CN when
// dockerd authenticates clients) or anonymousName when it sends none.
//
// dockerd gives plugins the body of small JSON requests only; on endpoints
// whose body the policy reads, a request whose body is missing is refused
// (the CVE-2024-41110 class of bypass).
func (g *Guard) AuthZHandler(anonymousName string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		writePlugin(w, map[string][]string{"Implements": {"authz"}})
	})
	mux.HandleFunc("POST /AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		var ar AuthZRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4*g.maxBody+(1<<20))).Decode(&ar); err != nil {
			writePlugin(w, AuthZResponse{Err: "picket: malformed AuthZ request: " + err.Error()})
			return
		}
		writePlugin(w, g.authzReq(r, &ar, anonymousName))
	})
	mux.HandleFunc("POST /AuthZPlugin.AuthZRes", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		writePlugin(w, AuthZResponse{Allow: true})
	})
	return mux
}

func writePlugin(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", pluginContentType)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *Guard) authzReq(r *http.Request, ar *AuthZRequest, anonymous string) AuthZResponse {
	start := g.now()
	id := Identity{Name: ar.User, Auth: "plugin", Source: "dockerd"}
	if id.Name == "" {
		id.Name = anonymous
	}
	id.Groups = g.acc().Groups(id.Name)
	e := &entry{id: id, start: start, method: ar.RequestMethod, uri: ar.RequestURI}
	defer func() {
		e.status = e.dec.Status
		if e.dec.Allow {
			e.status = http.StatusOK
		}
		g.finish(e)
	}()
	req, err := ParseRequest(ar.RequestMethod, ar.RequestURI)
	if err != nil {
		e.dec = Decision{Status: http.StatusBadRequest, Rule: "bad-request", Message: "picket: " + err.Error()}
		return AuthZResponse{Msg: e.dec.Message}
	}
	e.req = req
	body := ar.RequestBody
	if NeedsBody(req.Endpoint) {
		switch {
		case len(body) == 0 && req.Endpoint != "exec.start" && !strings.HasPrefix(req.Endpoint, "plugin."):
			e.dec = Decision{Status: http.StatusForbidden, Rule: "body", Message: "picket: refused: the request body was not passed to the authorization plugin (too large, chunked or not JSON); cannot check it"}
			return AuthZResponse{Msg: e.dec.Message}
		case int64(len(body)) > g.maxBody:
			e.dec = Decision{Status: http.StatusRequestEntityTooLarge, Rule: "body", Message: "picket: refused: body too large"}
			return AuthZResponse{Msg: e.dec.Message}
		}
		if ce := headerValue(ar.RequestHeaders, "Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			e.dec = Decision{Status: http.StatusBadRequest, Rule: "body", Message: "picket: refused: compressed body on a guarded endpoint"}
			return AuthZResponse{Msg: e.dec.Message}
		}
	} else {
		body = nil
	}
	e.dec = g.Decide(r.Context(), id, req, body)
	e.resource, e.extra = resourceOf(req, body)
	if !e.dec.Allow {
		return AuthZResponse{Msg: e.dec.Message}
	}
	return AuthZResponse{Allow: true}
}

func headerValue(h map[string]string, key string) string {
	for k, v := range h {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
