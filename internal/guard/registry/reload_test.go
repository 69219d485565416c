package registry_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestReloadRevokes: removing a grant from the policy file and reloading
// (what SIGHUP does) stops the tokens already issued at the next request;
// a broken file keeps the running policy.
func TestReloadRevokes(t *testing.T) {
	e := newEnv(t, envOpts{})
	img, _ := random.Image(256, 1)
	if err := remote.Write(e.parse(e.ref("app:1")), img, e.remoteOpts("dev")...); err != nil {
		t.Fatal(err)
	}
	tok := e.token("dev", "repository:"+e.ns+"/app:pull")
	if status, _ := e.do("GET", "/v2/"+e.ns+"/app/manifests/1", tok, nil, nil); status != http.StatusOK {
		t.Fatalf("before reload: %d", status)
	}
	p := filepath.Join(e.dir, "policy.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte("grants: [{subjects: [dev], role: wizard, repositories: ['**']}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.guard.Reload(); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Fatalf("broken policy reloaded: %v", err)
	}
	if status, _ := e.do("GET", "/v2/"+e.ns+"/app/manifests/1", tok, nil, nil); status != http.StatusOK {
		t.Fatalf("a failed reload changed the policy: %d", status)
	}
	revoked := strings.Replace(string(b), "  - {subjects: [dev], role: developer", "  - {subjects: [nobody], role: developer", 1)
	if err := os.WriteFile(p, []byte(revoked), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.guard.Reload(); err != nil {
		t.Fatal(err)
	}
	status, body := e.do("GET", "/v2/"+e.ns+"/app/manifests/1", tok, nil, nil)
	if status != http.StatusForbidden || !strings.Contains(body, "has no role") {
		t.Errorf("revoked token: %d %s", status, body)
	}
	e.findAudit(map[string]string{"identity": "dev", "decision": "deny", "reason": "dev has no role on repository " + e.ns + "/app"})
}
