package output

import (
	"context"
	"encoding/json"
	"fmt"
	"log/syslog"
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/finding"
)

// Syslog sends each alert as a JSON message to syslog: the local daemon
// (network "") or a remote one over udp, tcp or a unix socket. The syslog
// severity follows the alert's: critical -> crit, high -> err, medium ->
// warning, low -> notice, info -> info. Facility: daemon.
type Syslog struct {
	name string
	mu   sync.Mutex
	w    *syslog.Writer
	st   Stats
}

// NewSyslog dials syslog. addr is "" (local), "udp://host:514",
// "tcp://host:514" or "unix:///dev/log" / "unixgram:///path".
func NewSyslog(addr, tag string) (*Syslog, error) {
	network, raddr := "", ""
	if addr != "" {
		n, a, ok := strings.Cut(addr, "://")
		if !ok || a == "" {
			return nil, fmt.Errorf("output: syslog: address %q: want udp://host:port, tcp://host:port, unix:///path or unixgram:///path", addr)
		}
		switch n {
		case "udp", "tcp", "unix", "unixgram":
		default:
			return nil, fmt.Errorf("output: syslog: network %q: want udp, tcp, unix or unixgram", n)
		}
		network, raddr = n, a
	}
	if tag == "" {
		tag = "picket-agent"
	}
	w, err := syslog.Dial(network, raddr, syslog.LOG_DAEMON|syslog.LOG_WARNING, tag)
	if err != nil {
		return nil, fmt.Errorf("output: syslog: %w", err)
	}
	return &Syslog{name: "syslog:" + addr, w: w}, nil
}

func (s *Syslog) Name() string { return s.name }

func (s *Syslog) Write(_ context.Context, a *Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("output: syslog: %w", err)
	}
	msg := string(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch a.Severity {
	case finding.Critical:
		err = s.w.Crit(msg)
	case finding.High:
		err = s.w.Err(msg)
	case finding.Medium:
		err = s.w.Warning(msg)
	case finding.Low:
		err = s.w.Notice(msg)
	default:
		err = s.w.Info(msg)
	}
	if err != nil {
		s.st.Errors++
		return fmt.Errorf("output: syslog: %w", err)
	}
	s.st.Written++
	return nil
}

func (s *Syslog) Stats() Stats { s.mu.Lock(); defer s.mu.Unlock(); return s.st }

func (s *Syslog) Close() error { return s.w.Close() }
