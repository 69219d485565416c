package rules

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// MaxIntelLine bounds one line of an indicator file; trails files come from
// third parties.
const MaxIntelLine = 4096

// Intel is a set of network indicators (host names, IP addresses and
// ip:port pairs) in the maltrail "trails" format: one indicator a line,
// '#' comments, blank lines ignored. Entries that are URL paths ("/x.sh")
// are kept apart (Paths) because a network event cannot match them. A host
// name also matches its sub-domains (xmr.pool.example matches a
// pool.example entry). The zero value is an empty set.
type Intel struct {
	hosts    map[string]bool
	addrs    map[netip.Addr]bool
	addrPort map[netip.AddrPort]bool
	paths    map[string]bool
}

// NewIntel returns an empty set.
func NewIntel() *Intel {
	return &Intel{hosts: map[string]bool{}, addrs: map[netip.Addr]bool{},
		addrPort: map[netip.AddrPort]bool{}, paths: map[string]bool{}}
}

// Len is the number of indicators held.
func (in *Intel) Len() int {
	if in == nil {
		return 0
	}
	return len(in.hosts) + len(in.addrs) + len(in.addrPort) + len(in.paths)
}

// LoadFile adds the indicators of a trails file.
func (in *Intel) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("rules: intel: %w", err)
	}
	defer f.Close()
	if err := in.Load(path, f); err != nil {
		return err
	}
	return nil
}

// Load adds the indicators read from r; name is used in errors.
func (in *Intel) Load(name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxIntelLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		if err := in.add(s); err != nil {
			return fmt.Errorf("rules: intel: %s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("rules: intel: %s:%d: %w", name, line+1, err)
	}
	return nil
}

func (in *Intel) add(s string) error {
	if strings.HasPrefix(s, "/") {
		in.paths[s] = true
		return nil
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return fmt.Errorf("not a URL: %q", s)
		}
		if u.Path != "" && u.Path != "/" {
			in.paths[u.Path] = true
		}
		s = u.Host
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		in.addrPort[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		return nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		in.addrs[a.Unmap()] = true
		return nil
	}
	host, _, _ := splitHostPort(s)
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if i := strings.IndexByte(host, '/'); i >= 0 { // host/path entries: the host is the indicator
		host = host[:i]
	}
	if !validHost(host) {
		return fmt.Errorf("not a host name, address or path: %q", s)
	}
	in.hosts[host] = true
	return nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return false
			}
		}
	}
	return true
}

// splitHostPort splits "host:port", "[v6]:port", "host" or "v6".
func splitHostPort(s string) (host string, port uint16, ok bool) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return h, 0, false
		}
		return h, uint16(n), true
	}
	return strings.Trim(s, "[]"), 0, false
}

// Match reports whether s names an indicator. s may be a host name, an IP
// address, "host:port", "ip:port", a URL ("stratum+tcp://pool.example:3333",
// "http://1.2.3.4/x.sh") or a command-line argument holding one of those
// ("-o", "--url=pool.example:443" are handled). Anything else is no match.
func (in *Intel) Match(s string) bool {
	if in == nil || in.Len() == 0 || s == "" || len(s) > 2048 {
		return false
	}
	if i := strings.IndexByte(s, '='); i >= 0 && !strings.Contains(s[:i], "/") {
		s = s[i+1:] // --url=host:port
	}
	path := ""
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return false
		}
		s, path = u.Host, u.Path
	} else if i := strings.IndexByte(s, '/'); i > 0 {
		s, path = s[:i], s[i:]
	}
	if path != "" && in.paths[path] {
		return true
	}
	host, port, hasPort := splitHostPort(s)
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if in.addrs[a] {
			return true
		}
		return hasPort && in.addrPort[netip.AddrPortFrom(a, port)]
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !strings.Contains(host, ".") {
		return false // a bare word (an argument like "-o") is never a host indicator
	}
	for h := host; h != ""; {
		if in.hosts[h] {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return false
}

// MatchAddr reports whether the IP address (with the port, when non-zero)
// is an indicator.
func (in *Intel) MatchAddr(ip string, port uint16) bool {
	if in == nil || in.Len() == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return in.addrs[a] || port != 0 && in.addrPort[netip.AddrPortFrom(a, port)]
}
