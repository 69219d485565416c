package docker

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawRequest sends bytes on a fresh connection to the guard's unix socket
// and returns the status line and body of the answer.
func rawRequest(t *testing.T, sock, req string) (string, string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req[:min(len(req), 80)], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, string(b)
}

func TestMalformedRequestsRefused(t *testing.T) {
	needDocker(t)
	g := startGuard(t, guardSetup{access: "unix: {uids: {0: alice}}\n", opts: []Option{WithMaxBody(4096)}})
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name, req, status, msg string
	}{
		{"dot segments", "POST /v1.41/../containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}", "400", "not clean"},
		{"encoded slash", "POST /v1.41/containers%2Fcreate HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}", "400", "encoded"},
		{"duplicate query key", "POST /v1.41/images/create?fromImage=busybox&fromImage=evil.io/x HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n", "400", "given 2 times"},
		{"malformed JSON", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"Image\":", "400", "unparsable JSON"},
		{"huge body by length", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 5000\r\n\r\n" + big, "413", "body too large"},
		{"huge chunked body", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + big + "\r\n0\r\n\r\n", "413", "body too large"},
		{"compressed body", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}", "400", "compressed body"},
		{"empty create body (CVE-2024-41110 shape)", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n", "400", "empty body"},
		{"privileged via lowercase keys", "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 47\r\n\r\n{\"image\":\"x\",\"hostconfig\":{\"privileged\":true}}\n", "403", "[privileged]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, g.sock, tt.req)
			if !strings.HasPrefix(status, tt.status) {
				t.Fatalf("status %s, want %s (%s)", status, tt.status, body)
			}
			var e struct{ Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("body %q, want a Docker JSON error containing %q", body, tt.msg)
			}
		})
	}
}

// TestSlowClients: headers must arrive within ReadHeaderTimeout and a
// guarded body within the body timeout.
func TestSlowClients(t *testing.T) {
	needDocker(t)
	g := startGuard(t, guardSetup{
		access: "unix: {uids: {0: alice}}\n",
		opts:   []Option{WithBodyTimeout(500 * time.Millisecond)},
		server: func(s *http.Server) { s.ReadHeaderTimeout = 500 * time.Millisecond },
	})
	if NewServer(nil).ReadHeaderTimeout != ReadHeaderTimeout || ReadHeaderTimeout > 30*time.Second {
		t.Fatalf("server ReadHeaderTimeout not set")
	}
	t.Run("slowloris headers", func(t *testing.T) {
		c, err := net.Dial("unix", g.sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, "GET /v1.41/containers/json HTTP/1.1\r\nHost: d\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < 20; i++ {
			if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		buf := make([]byte, 512)
		_, err = c.Read(buf)
		for err == nil {
			_, err = c.Read(buf)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("connection held for %v", el)
		}
	})
	t.Run("slow guarded body", func(t *testing.T) {
		c, err := net.Dial("unix", g.sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 100\r\n\r\n{\"Ima")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 || time.Since(start) > 5*time.Second {
			t.Fatalf("status %d after %v", resp.StatusCode, time.Since(start))
		}
	})
}

// TestBuildKitSessionUpgrade: POST /session upgrades to h2c through the
// guard and the daemon's HTTP/2 preface comes back over the spliced
// connection (BuildKit's session transport).
func TestBuildKitSessionUpgrade(t *testing.T) {
	needDocker(t)
	g := startGuard(t, guardSetup{access: "unix: {uids: {0: alice}}\n"})
	c, err := net.Dial("unix", g.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /v1.41/session HTTP/1.1\r\nHost: docker\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"+
		"X-Docker-Expose-Session-Uuid: "+unique("picketguardtest")+"\r\nX-Docker-Expose-Session-Name: picket-test-guard\r\n"+
		"X-Docker-Expose-Session-Sharedkey: k\r\nContent-Length: 0\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "h2c") {
		t.Fatalf("status %s upgrade %q", resp.Status, resp.Header.Get("Upgrade"))
	}
	preface := make([]byte, 24)
	if _, err := io.ReadFull(br, preface); err != nil {
		t.Fatal(err)
	}
	if string(preface) != "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" {
		t.Fatalf("got %q, want the HTTP/2 client preface", preface)
	}
}

// TestAuthZPlugin calls the plugin socket with the JSON dockerd sends
// (moby pkg/authorization: base64 RequestBody, RequestHeaders map).
func TestAuthZPlugin(t *testing.T) {
	needDocker(t)
	g := startGuard(t, guardSetup{access: "users: {alice: {groups: [dev]}, ops: {groups: [docker-admin]}}\nrules:\n  - subjects: [group:dev, group:docker-admin]\n    allow: ['*']\n"})
	sock := filepath.Join(t.TempDir(), "picket-authz.sock")
	l, err := Listen("unix://"+sock, 0o600, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(g.AuthZHandler("anonymous"))
	go srv.Serve(l)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}, Timeout: 10 * time.Second}
	post := func(path, body string) (string, map[string]any) {
		t.Helper()
		resp, err := client.Post("http://plugin"+path, "application/vnd.docker.plugins.v1.2+json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("Content-Type"), m
	}
	ct, act := post("/Plugin.Activate", "")
	if ct != pluginContentType || fmt.Sprint(act["Implements"]) != "[authz]" {
		t.Fatalf("activate: %s %v", ct, act)
	}
	req := func(user, method, uri, body string) map[string]any {
		rb := "null"
		if body != "" {
			rb = `"` + base64.StdEncoding.EncodeToString([]byte(body)) + `"`
		}
		js := fmt.Sprintf(`{"User":%q,"UserAuthNMethod":"TLS","RequestMethod":%q,"RequestURI":%q,"RequestBody":%s,`+
			`"RequestHeaders":{"Content-Type":"application/json","User-Agent":"Docker-Client/28.2.2 (linux)"},"RequestPeerCertificates":null}`,
			user, method, uri, rb)
		_, m := post("/AuthZPlugin.AuthZReq", js)
		return m
	}
	tests := []struct {
		name, user, method, uri, body string
		allow                         bool
		msg                           string
	}{
		{"ps", "alice", "GET", "/v1.41/containers/json", "", true, ""},
		{"compliant create", "alice", "POST", "/v1.41/containers/create?name=x", create(""), true, ""},
		{"privileged create", "alice", "POST", "/v1.41/containers/create", create(`"Privileged":true`), false, "privileged containers are not allowed [privileged]"},
		{"body withheld by dockerd", "alice", "POST", "/v1.41/containers/create", "", false, "request body was not passed to the authorization plugin"},
		{"break glass", "ops", "POST", "/v1.41/containers/create", create(`"Privileged":true`), true, ""},
		{"anonymous has no rights", "", "GET", "/v1.41/containers/json", "", false, "access denied: anonymous"},
		{"path trick", "alice", "POST", "/v1.41/../containers/create", create(`"Privileged":true`), false, "not clean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := req(tt.user, tt.method, tt.uri, tt.body)
			if m["Allow"] != tt.allow || !strings.Contains(fmt.Sprint(m["Msg"]), tt.msg) {
				t.Fatalf("answer %v, want Allow=%v Msg~%q", m, tt.allow, tt.msg)
			}
		})
	}
	_, res := post("/AuthZPlugin.AuthZRes", `{"User":"alice","RequestMethod":"GET","RequestURI":"/v1.41/containers/json","ResponseStatusCode":200,"ResponseBody":"W10=","ResponseHeaders":{"Content-Type":"application/json"}}`)
	if res["Allow"] != true {
		t.Fatalf("AuthZRes: %v", res)
	}
	_, bad := post("/AuthZPlugin.AuthZReq", `{"RequestMethod":`)
	if bad["Allow"] == true || !strings.Contains(fmt.Sprint(bad["Err"]), "malformed") {
		t.Fatalf("malformed: %v", bad)
	}
}
