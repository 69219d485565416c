package docker

import (
	"context"
	"testing"

	"github.com/picket-cdr/picket/internal/policy"
)

func TestReload(t *testing.T) {
	needDocker(t)
	g := startGuard(t, guardSetup{access: "unix: {uids: {0: alice}}\n"})
	req, _ := ParseRequest("POST", "/v1.41/containers/create")
	body := []byte(create(`"Privileged":true`))
	alice := Identity{Name: "alice"}
	if d := g.Decide(context.Background(), alice, req, body); d.Allow || d.Rule != "privileged" {
		t.Fatalf("before reload: %+v", d)
	}
	doc, err := policy.Parse("off.yaml", []byte("rules:\n  - id: privileged\n    enabled: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := LoadPolicy(true, doc)
	if err != nil {
		t.Fatal(err)
	}
	g.Reload(pol, nil)
	if d := g.Decide(context.Background(), alice, req, body); !d.Allow {
		t.Fatalf("after policy reload: %+v", d)
	}
	acc, _ := ParseAccess("a.yaml", []byte("rules:\n  - subjects: [bob]\n    allow: ['*']\n"))
	g.Reload(nil, acc)
	if d := g.Decide(context.Background(), alice, req, body); d.Allow || d.Rule != "acl" {
		t.Fatalf("after access reload: %+v", d)
	}
}
