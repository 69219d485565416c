package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/policy"
)

func loadDefault(t testing.TB) *Policy {
	t.Helper()
	p, err := LoadPolicy(true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// decideBody evaluates one request with no daemon look-ups.
func decideBody(t testing.TB, p *Policy, id Identity, method, uri, body string) (Decision, error) {
	t.Helper()
	req, err := ParseRequest(method, uri)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	in, err := buildInput(context.Background(), nil, nil, id, req, b)
	if err != nil {
		return Decision{}, err
	}
	return p.evaluate(context.Background(), in), nil
}

// A create body that passes the default policy; cases add one problem.
const okHost = `"Memory":67108864,"NanoCpus":500000000,"PidsLimit":100,"SecurityOpt":["no-new-privileges"]`

func create(host string) string {
	if host != "" {
		host = "," + host
	}
	return `{"Image":"picket-test/busybox:1","HostConfig":{` + okHost + host + `}}`
}

func TestDefaultPolicyRules(t *testing.T) {
	p := loadDefault(t)
	link := filepath.Join(t.TempDir(), "innocent")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	user := Identity{Name: "alice", Groups: []string{"dev"}, Auth: "unix"}
	admin := Identity{Name: "root", Groups: []string{"docker-admin"}, Auth: "unix"}
	tests := []struct {
		name       string
		id         Identity
		method     string
		uri, body  string
		wantDenied []string // exactly these rules, in order
		wantErr    string   // a body error instead
	}{
		{name: "compliant create", uri: "/v1.41/containers/create?name=web", body: create("")},
		{name: "privileged", uri: "/v1.41/containers/create", body: create(`"Privileged":true`), wantDenied: []string{"privileged"}},
		{name: "privileged, lowercase keys", uri: "/containers/create", body: `{"image":"x","hostconfig":{"memory":1,"nanocpus":1,"pidslimit":1,"securityopt":["no-new-privileges:true"],"privileged":true}}`, wantDenied: []string{"privileged"}},
		{name: "privileged, duplicate key last wins", uri: "/containers/create", body: `{"Image":"x","HostConfig":{` + okHost + `,"Privileged":false,"Privileged":true}}`, wantDenied: []string{"privileged"}},
		{name: "privileged at the top level (legacy)", uri: "/containers/create", body: `{"Image":"x","Privileged":true,"HostConfig":{` + okHost + `}}`, wantErr: "at the top level"},
		{name: "bind /", uri: "/containers/create", body: create(`"Binds":["/:/host"]`), wantDenied: []string{"docker-socket-mount", "sensitive-host-mount"}},
		{name: "bind docker.sock", uri: "/containers/create", body: create(`"Binds":["/var/run/docker.sock:/s"]`), wantDenied: []string{"docker-socket-mount", "sensitive-host-mount"}},
		{name: "bind /var/run (holds the socket)", uri: "/containers/create", body: create(`"Binds":["/var/run:/r:ro"]`), wantDenied: []string{"docker-socket-mount", "sensitive-host-mount"}},
		{name: "bind /etc/shadow", uri: "/containers/create", body: create(`"Binds":["/etc/shadow:/s:ro"]`), wantDenied: []string{"sensitive-host-mount"}},
		{name: "bind via symlink to /etc", uri: "/containers/create", body: create(`"Binds":["` + link + `:/x"]`), wantDenied: []string{"sensitive-host-mount"}},
		{name: "bind /etc/../etc unclean", uri: "/containers/create", body: create(`"Binds":["/tmp/../etc:/x"]`), wantDenied: []string{"sensitive-host-mount"}},
		{name: "mount API bind /proc", uri: "/containers/create", body: create(`"Mounts":[{"Type":"bind","Source":"/proc","Target":"/p"}]`), wantDenied: []string{"sensitive-host-mount"}},
		{name: "volume mount with bind device", uri: "/containers/create", body: create(`"Mounts":[{"Type":"volume","Source":"v","Target":"/p","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/root"}}}}]`), wantDenied: []string{"sensitive-host-mount"}},
		{name: "harmless bind", uri: "/containers/create", body: create(`"Binds":["/srv/data:/data"]`)},
		{name: "cap SYS_ADMIN", uri: "/containers/create", body: create(`"CapAdd":["SYS_ADMIN"]`), wantDenied: []string{"dangerous-capabilities"}},
		{name: "cap cap_sys_module lowercase", uri: "/containers/create", body: create(`"CapAdd":["cap_sys_module"]`), wantDenied: []string{"dangerous-capabilities"}},
		{name: "cap ALL", uri: "/containers/create", body: create(`"CapAdd":["all"]`), wantDenied: []string{"dangerous-capabilities"}},
		{name: "cap CHOWN is fine", uri: "/containers/create", body: create(`"CapAdd":["CHOWN"]`)},
		{name: "pid host", uri: "/containers/create", body: create(`"PidMode":"host"`), wantDenied: []string{"host-namespaces"}},
		{name: "network host", uri: "/containers/create", body: create(`"NetworkMode":"host"`), wantDenied: []string{"host-namespaces"}},
		{name: "userns host", uri: "/containers/create", body: create(`"UsernsMode":"host"`), wantDenied: []string{"host-namespaces"}},
		{name: "device", uri: "/containers/create", body: create(`"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]`), wantDenied: []string{"host-devices"}},
		{name: "gpus", uri: "/containers/create", body: create(`"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]`), wantDenied: []string{"host-devices"}},
		{name: "seccomp unconfined", uri: "/containers/create", body: create(`"SecurityOpt":["no-new-privileges","seccomp=unconfined"]`), wantDenied: []string{"unconfined-security-profile"}},
		{name: "apparmor unconfined old syntax", uri: "/containers/create", body: create(`"SecurityOpt":["no-new-privileges","apparmor:unconfined"]`), wantDenied: []string{"unconfined-security-profile"}},
		{name: "no-new-privileges=false", uri: "/containers/create", body: create(`"SecurityOpt":["no-new-privileges=false"]`), wantDenied: []string{"no-new-privileges"}},
		{name: "no limits", uri: "/containers/create", body: `{"Image":"x","HostConfig":{"SecurityOpt":["no-new-privileges"]}}`, wantDenied: []string{"resource-limits"}},
		{name: "no pids limit", uri: "/containers/create", body: `{"Image":"x","HostConfig":{"Memory":1,"NanoCpus":1,"SecurityOpt":["no-new-privileges"]}}`, wantDenied: []string{"resource-limits"}},
		{name: "cpu quota counts as a CPU limit", uri: "/containers/create", body: `{"Image":"x","HostConfig":{"Memory":1,"CpuQuota":50000,"PidsLimit":10,"SecurityOpt":["no-new-privileges"]}}`},
		{name: "empty body object", uri: "/containers/create", body: `{}`, wantDenied: []string{"no-new-privileges", "resource-limits"}},
		{name: "port 80 on loopback", uri: "/containers/create", body: create(`"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"80"}]}`), wantDenied: []string{"privileged-host-port"}},
		{name: "port on all interfaces", uri: "/containers/create", body: create(`"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`), wantDenied: []string{"port-on-all-interfaces"}},
		{name: "port on loopback", uri: "/containers/create", body: create(`"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}`)},
		{name: "publish all", uri: "/containers/create", body: create(`"PublishAllPorts":true`), wantDenied: []string{"port-on-all-interfaces"}},
		{name: "untrusted registry create", uri: "/containers/create", body: `{"Image":"evil.example.com:5000/x:1","HostConfig":{` + okHost + `}}`, wantDenied: []string{"untrusted-registry"}},
		{name: "untrusted registry pull", method: "POST", uri: "/v1.41/images/create?fromImage=evil.example.com/x&tag=1", wantDenied: []string{"untrusted-registry"}},
		{name: "trusted pull", method: "POST", uri: "/v1.41/images/create?fromImage=ghcr.io/org/app&tag=1"},
		{name: "docker hub pull", method: "POST", uri: "/v1.41/images/create?fromImage=busybox&tag=latest"},
		{name: "build host network", method: "POST", uri: "/v1.41/build?t=picket-test-guard-x&networkmode=host", wantDenied: []string{"host-namespaces"}},
		{name: "build", method: "POST", uri: "/v1.41/build?t=picket-test-guard-x"},
		{name: "exec privileged as user", uri: "/v1.41/containers/c1/exec", body: `{"User":"1000","Privileged":true,"Cmd":["sh"]}`, wantDenied: []string{"exec-privileged"}},
		{name: "exec as root", uri: "/v1.41/containers/c1/exec", body: `{"User":"root","Cmd":["sh"]}`, wantDenied: []string{"exec-as-root"}},
		{name: "exec as 0:0", uri: "/v1.41/containers/c1/exec", body: `{"User":"0:0","Cmd":["sh"]}`, wantDenied: []string{"exec-as-root"}},
		{name: "exec as user", uri: "/v1.41/containers/c1/exec", body: `{"User":"1000","Cmd":["sh"]}`},
		{name: "service privileged-free but no limits", uri: "/v1.41/services/create", body: `{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"busybox","Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}],"CapabilityAdd":["CAP_SYS_ADMIN"]}}}`, wantDenied: []string{"sensitive-host-mount", "dangerous-capabilities", "resource-limits"}},
		{name: "plugin with mount privilege", uri: "/v1.41/plugins/pull?remote=vieux/sshfs", body: `[{"Name":"network","Value":["host"]},{"Name":"mount","Value":["/var/lib/docker/plugins/"]}]`, wantDenied: []string{"risky-plugin"}},
		{name: "plugin host network", uri: "/v1.41/plugins/pull?remote=vieux/sshfs", body: `[{"Name":"network","Value":["host"]}]`, wantDenied: []string{"risky-plugin"}},
		{name: "plugin create", uri: "/v1.41/plugins/create?name=x", wantDenied: []string{"plugin-create"}},
		{name: "volume bind /etc", uri: "/v1.41/volumes/create", body: `{"Name":"v","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`, wantDenied: []string{"sensitive-host-mount"}},
		{name: "plugin set mount source /etc", uri: "/v1.41/plugins/vieux/sshfs:latest/set", body: `["mymount.source=/etc","DEBUG=1"]`, wantDenied: []string{"sensitive-host-mount"}},
		{name: "plugin set harmless", uri: "/v1.41/plugins/vieux/sshfs:latest/set", body: `["DEBUG=1"]`},
		{name: "plain volume", uri: "/v1.41/volumes/create", body: `{"Name":"v"}`},
		{name: "break glass admin", id: admin, uri: "/containers/create", body: create(`"Privileged":true,"Binds":["/:/host"]`)},
		{name: "list containers", method: "GET", uri: "/v1.41/containers/json"},
		// Bodies the guard cannot read are refused.
		{name: "malformed JSON", uri: "/containers/create", body: `{"Image":`, wantErr: "unparsable JSON"},
		{name: "wrong type", uri: "/containers/create", body: `{"HostConfig":{"Privileged":"yes"}}`, wantErr: "unparsable JSON"},
		{name: "trailing data", uri: "/containers/create", body: create("") + `{"HostConfig":{"Privileged":true}}`, wantErr: "trailing data"},
		{name: "empty body", uri: "/containers/create", body: " ", wantErr: "empty body"},
		{name: "bad port", uri: "/containers/create", body: create(`"PortBindings":{"http":[{}]}`), wantErr: "unparsable JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id.Name == "" {
				id = user
			}
			method := tt.method
			if method == "" {
				method = "POST"
			}
			d, err := decideBody(t, p, id, method, tt.uri, tt.body)
			if tt.wantErr != "" {
				var be *BodyError
				if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want BodyError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Denied, tt.wantDenied) {
				t.Fatalf("denied by %v, want %v (%s)", d.Denied, tt.wantDenied, d.Message)
			}
			if d.Allow != (len(tt.wantDenied) == 0) {
				t.Fatalf("Allow = %v", d.Allow)
			}
			if !d.Allow && (d.Status != 403 || !strings.HasPrefix(d.Message, "picket: denied by policy: ")) {
				t.Errorf("status %d message %q", d.Status, d.Message)
			}
		})
	}
}

func TestUserPolicyOverrides(t *testing.T) {
	doc, err := policy.Parse("user.yaml", []byte(`
lists:
  trusted_registries: {append: true, items: [registry.internal:5000]}
rules:
  - id: resource-limits
    enabled: false
  - id: no-latest
    message: pin image tags
    condition: request.endpoint == "container.create" && image.tag == "latest"
    action: warn
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(true, doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decideBody(t, p, Identity{Name: "u"}, "POST", "/containers/create",
		`{"Image":"registry.internal:5000/app","HostConfig":{"SecurityOpt":["no-new-privileges"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allow || !slices.Equal(d.Warn, []string{"no-latest"}) {
		t.Fatalf("decision %+v", d)
	}
	bad, _ := policy.Parse("bad.yaml", []byte("rules:\n  - id: x\n    condition: 'true'\n    action: block\n"))
	if _, err := LoadPolicy(true, bad); err == nil || !strings.Contains(err.Error(), `bad.yaml:2:5: rule x: action "block": want deny or warn`) {
		t.Fatalf("err = %v", err)
	}
	typo, _ := policy.Parse("typo.yaml", []byte("rules:\n  - id: y\n    action: deny\n    condition: container.privileged && contianer.x\n"))
	if _, err := LoadPolicy(true, typo); err == nil || !strings.Contains(err.Error(), "typo.yaml:4:40: rule y condition: undeclared reference to 'contianer'") {
		t.Fatalf("err = %v", err)
	}
}

func TestPathOverlaps(t *testing.T) {
	tests := []struct {
		p, x string
		want bool
	}{
		{"/", "/etc", true}, {"/etc", "/", false}, {"/etc", "/etc", true}, {"/etc/ssl", "/etc", true},
		{"/var", "/var/run/docker.sock", true}, {"/home/u", "/", false}, {"/", "/", true},
		{"/etcetera", "/etc", false}, {"/srv", "/etc", false}, {"/var/lib/docker2", "/var/lib/docker", false},
	}
	for _, tt := range tests {
		if got := PathOverlaps(tt.p, tt.x); got != tt.want {
			t.Errorf("PathOverlaps(%q, %q) = %v", tt.p, tt.x, got)
		}
	}
}

func TestImageModel(t *testing.T) {
	tests := []struct{ ref, reg, repo, tag, digest string }{
		{"busybox", "docker.io", "library/busybox", "latest", ""},
		{"org/app:1", "docker.io", "org/app", "1", ""},
		{"ghcr.io/org/app:1", "ghcr.io", "org/app", "1", ""},
		{"localhost:5000/app", "localhost:5000", "app", "latest", ""},
		{"localhost/app", "localhost", "app", "latest", ""},
		{"Registry.Example.com/a@sha256:abc", "registry.example.com", "a", "", "sha256:abc"},
		{"index.docker.io/library/x:2", "docker.io", "library/x", "2", ""},
		{"sha256:0123", "", "", "", ""},
		{"be044eb38101", "", "", "", ""},
	}
	for _, tt := range tests {
		m := imageModel(tt.ref)
		if m["scan"].(map[string]any)["configured"] != false {
			t.Errorf("scan not empty")
		}
		if m["registry"] != tt.reg || m["repository"] != tt.repo || m["tag"] != tt.tag || m["digest"] != tt.digest {
			t.Errorf("imageModel(%q) = %v", tt.ref, m)
		}
	}
}

// FuzzCreateBody: no create body makes the guard panic, and every body it
// accepts is one encoding/json accepts too (no parser differential in the
// permissive direction).
func FuzzCreateBody(f *testing.F) {
	p := loadDefault(f)
	f.Add([]byte(create(`"Privileged":true`)))
	f.Add([]byte(create(`"Binds":["/:/h"],"PortBindings":{"80/tcp":[{"HostPort":"80"}]}`)))
	f.Add([]byte(`{"image":"x","hostconfig":{"mounts":[{"type":"volume","volumeoptions":{"driverconfig":{"options":{"o":"bind","device":"/"}}}}]}}`))
	req, _ := ParseRequest("POST", "/containers/create")
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := buildInput(context.Background(), nil, nil, Identity{Name: "f"}, req, body)
		if err != nil {
			return
		}
		var v any
		if strictDecode(body, &v) != nil {
			t.Fatalf("accepted a body plain JSON decoding refuses: %q", body)
		}
		_ = p.evaluate(context.Background(), in)
	})
}

func BenchmarkDecideCreate(b *testing.B) {
	p := loadDefault(b)
	req, _ := ParseRequest("POST", "/v1.41/containers/create")
	body := []byte(create(`"Binds":["/srv:/srv"]`))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := buildInput(ctx, nil, nil, Identity{Name: "u"}, req, body)
		if err != nil {
			b.Fatal(err)
		}
		if d := p.evaluate(ctx, in); !d.Allow {
			b.Fatal(d.Message)
		}
	}
}

func BenchmarkDecideList(b *testing.B) {
	p := loadDefault(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := ParseRequest("GET", "/v1.41/containers/json?all=1")
		in, _ := buildInput(ctx, nil, nil, Identity{Name: "u"}, req, nil)
		if d := p.evaluate(ctx, in); !d.Allow {
			b.Fatal(d.Message)
		}
	}
}
