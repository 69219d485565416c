package testregistry

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, r *Registry, user, pass string) int {
	t.Helper()
	req, err := http.NewRequest("GET", r.URL()+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	client := &http.Client{Transport: r.Transport(), Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s/v2/: %v", r.URL(), err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStart(t *testing.T) {
	var host string
	t.Run("serve", func(t *testing.T) {
		r := Start(t)
		host = r.Host()
		if !strings.HasPrefix(host, "127.0.0.1:") || r.URL() != "http://"+host {
			t.Errorf("host %q url %q", host, r.URL())
		}
		if code := get(t, r, "", ""); code != http.StatusOK {
			t.Errorf("GET /v2/ = %d", code)
		}
		if !strings.Contains(r.Log(), "GET /v2/") {
			t.Errorf("access log lacks the request:\n%s", r.Log())
		}
		// A second registry runs beside the first, on its own port.
		r2 := Start(t)
		if r2.Host() == host || r2.StorageDir() == r.StorageDir() {
			t.Errorf("two registries share %s / %s", r2.Host(), r2.StorageDir())
		}
	})
	// The cleanup stopped the process: nothing listens on its port any more.
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the test", host)
	}
}

func TestAuth(t *testing.T) {
	r := Start(t, WithAuth("alice", "s3cret"))
	if u, p := r.Credentials(); u != "alice" || p != "s3cret" {
		t.Errorf("credentials %q %q", u, p)
	}
	for _, tt := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"alice", "wrong", http.StatusUnauthorized},
		{"bob", "s3cret", http.StatusUnauthorized},
		{"alice", "s3cret", http.StatusOK},
	} {
		if got := get(t, r, tt.user, tt.pass); got != tt.want {
			t.Errorf("GET /v2/ as %q:%q = %d, want %d", tt.user, tt.pass, got, tt.want)
		}
	}
}

func TestTLSAndOtherLoopbackIP(t *testing.T) {
	r := Start(t, WithTLS(), WithIP("127.0.0.2"))
	if !strings.HasPrefix(r.URL(), "https://127.0.0.2:") || r.RootCAs() == nil {
		t.Fatalf("url %q", r.URL())
	}
	if code := get(t, r, "", ""); code != http.StatusOK {
		t.Errorf("GET /v2/ = %d", code)
	}
	// Without the registry's CA the certificate is rejected.
	resp, err := http.Get(r.URL() + "/v2/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("self-signed certificate accepted by the default client")
	}
}

func TestStop(t *testing.T) {
	r := Start(t)
	r.Stop()
	r.Stop() // idempotent; the cleanup calls it again
	if c, err := net.DialTimeout("tcp", r.Host(), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", r.Host())
	}
}
