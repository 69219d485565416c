package exposure

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		ports   []int
		max     int
		want    []string // endpoints, in order
		wantErr string
	}{
		{"host with port", []string{"127.0.0.1:2375"}, nil, 0, []string{"127.0.0.1:2375"}, ""},
		{"host without port gets the ports", []string{"10.0.0.5"}, []int{2375, 5000}, 0, []string{"10.0.0.5:2375", "10.0.0.5:5000"}, ""},
		{"name", []string{"registry.internal:5000", "node-1"}, []int{10250}, 0, []string{"registry.internal:5000", "node-1:10250"}, ""},
		{"ipv6", []string{"[::1]:2375", "::1", "[fe80::1]"}, []int{6443}, 0, []string{"[::1]:2375", "[::1]:6443", "[fe80::1]:6443"}, ""},
		{"cidr", []string{"192.168.1.0/30"}, []int{2375}, 0, []string{"192.168.1.0:2375", "192.168.1.1:2375", "192.168.1.2:2375", "192.168.1.3:2375"}, ""},
		{"unmasked cidr", []string{"192.168.1.7/31"}, []int{1}, 0, []string{"192.168.1.6:1", "192.168.1.7:1"}, ""},
		{"duplicates collapse", []string{"10.0.0.1:2375", "10.0.0.1:2375"}, nil, 0, []string{"10.0.0.1:2375"}, ""},
		{"last address of the space", []string{"255.255.255.254/31"}, []int{80}, 0, []string{"255.255.255.254:80", "255.255.255.255:80"}, ""},
		{"cidr over the limit", []string{"10.0.0.0/16"}, []int{2375}, 4096, nil, "too many targets"},
		{"huge ipv6 cidr refused before enumeration", []string{"2001:db8::/32"}, []int{2375}, 4096, nil, "too many targets"},
		{"ports multiply", []string{"10.0.0.0/24"}, DefaultPorts, 1000, nil, "too many targets"},
		{"raised limit", []string{"10.0.0.0/22"}, []int{2375}, 1024, nil, ""},
		{"bad port", []string{"10.0.0.1:99999"}, nil, 0, nil, "invalid port"},
		{"bad host", []string{"bad host!"}, nil, 0, nil, "invalid host"},
		{"bad cidr", []string{"10.0.0.0/33"}, nil, 0, nil, "target"},
		{"empty", []string{" "}, nil, 0, nil, "empty target"},
		{"none", nil, nil, 0, nil, "no targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := ParseTargets(tt.targets, tt.ports, tt.max)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if tt.wantErr == "too many targets" && !errors.Is(err, ErrTooMany) {
					t.Errorf("error %v does not wrap ErrTooMany", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				return
			}
			var got []string
			for _, e := range eps {
				got = append(got, e.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"127.0.0.1:2375", "10.0.0.0/24", "[::1]:1", "host", "::", "1.2.3.4/0", "a:b:c", "[", "x:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		eps, err := ParseTargets(strings.Split(s, ","), []int{2375, 5000}, 256)
		if err != nil {
			return
		}
		if len(eps) == 0 || len(eps) > 256 {
			t.Fatalf("%d endpoints for %q", len(eps), s)
		}
		for _, e := range eps {
			if e.Port < 1 || e.Port > 65535 || e.Host == "" {
				t.Fatalf("bad endpoint %+v from %q", e, s)
			}
		}
	})
}
