package exposure

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPorts are probed on targets named without a port: the Docker API
// (plain and TLS), a registry, the Kubernetes API server and the kubelet
// (authenticated and read-only).
var DefaultPorts = []int{2375, 2376, 5000, 6443, 10250, 10255}

// DefaultMaxTargets bounds how many endpoints (address x port) one run
// probes unless the caller raises it.
const DefaultMaxTargets = 4096

// Endpoint is one address and port to probe.
type Endpoint struct {
	Host string // IP address or host name, as the user named it
	Port int
}

// String renders host:port (IPv6 in brackets).
func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// ErrTooMany is returned (wrapped) when the targets expand beyond the limit.
var ErrTooMany = errors.New("too many targets")

// ParseTargets expands the user's targets into endpoints. A target is
// HOST, HOST:PORT, [IPv6]:PORT, an IP address, or a CIDR prefix (every
// address of it, network and broadcast included, which a scanner of one's
// own hosts wants); a target without a port gets ports (DefaultPorts when
// nil). Nothing is resolved or contacted here. More than max endpoints is
// an error wrapping ErrTooMany, before any address is enumerated.
func ParseTargets(targets []string, ports []int, max int) ([]Endpoint, error) {
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("exposure: port %d out of range", p)
		}
	}
	if max <= 0 {
		max = DefaultMaxTargets
	}
	var out []Endpoint
	seen := map[Endpoint]bool{}
	add := func(e Endpoint) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	total := new(big.Int)
	limit := big.NewInt(int64(max))
	for _, raw := range targets {
		t := strings.TrimSpace(raw)
		if t == "" {
			return nil, fmt.Errorf("exposure: empty target")
		}
		if strings.Contains(t, "/") {
			pfx, err := netip.ParsePrefix(t)
			if err != nil {
				return nil, fmt.Errorf("exposure: target %q: %w", raw, err)
			}
			pfx = pfx.Masked()
			bits := pfx.Addr().BitLen() - pfx.Bits()
			n := new(big.Int).Lsh(big.NewInt(1), uint(bits))
			n.Mul(n, big.NewInt(int64(len(ports))))
			total.Add(total, n)
			if total.Cmp(limit) > 0 {
				return nil, fmt.Errorf("exposure: %w: %s expands the run beyond %d endpoints (raise --max-targets)", ErrTooMany, t, max)
			}
			for a := pfx.Addr(); pfx.Contains(a); a = a.Next() {
				for _, p := range ports {
					add(Endpoint{Host: a.String(), Port: p})
				}
				if !a.Next().IsValid() {
					break
				}
			}
			continue
		}
		host, port, err := splitHostPort(t)
		if err != nil {
			return nil, fmt.Errorf("exposure: target %q: %w", raw, err)
		}
		if port > 0 {
			total.Add(total, big.NewInt(1))
			add(Endpoint{Host: host, Port: port})
		} else {
			total.Add(total, big.NewInt(int64(len(ports))))
			for _, p := range ports {
				add(Endpoint{Host: host, Port: p})
			}
		}
		if total.Cmp(limit) > 0 {
			return nil, fmt.Errorf("exposure: %w: more than %d endpoints (raise --max-targets)", ErrTooMany, max)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("exposure: no targets")
	}
	return out, nil
}

// splitHostPort accepts HOST, HOST:PORT, IPv6 and [IPv6]:PORT.
func splitHostPort(t string) (string, int, error) {
	if a, err := netip.ParseAddr(t); err == nil {
		return a.String(), 0, nil
	}
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		a, err := netip.ParseAddr(t[1 : len(t)-1])
		if err != nil {
			return "", 0, err
		}
		return a.String(), 0, nil
	}
	host, ps, err := net.SplitHostPort(t)
	if err != nil {
		if strings.Contains(t, ":") {
			return "", 0, err
		}
		host, ps = t, ""
	}
	if !validHost(host) {
		return "", 0, fmt.Errorf("invalid host %q", host)
	}
	if ps == "" {
		return host, 0, nil
	}
	p, err := strconv.Atoi(ps)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", ps)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	return host, p, nil
}

// validHost accepts IP addresses and DNS names.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
