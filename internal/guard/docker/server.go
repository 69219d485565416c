package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

type connKey struct{}

// connInfo is what the listener knows about a connection.
type connInfo struct {
	unix     bool
	uid, pid int
	credErr  error
}

// connContext records unix peer credentials once per connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	info := &connInfo{}
	bigBuffers(c)
	if uc, ok := c.(*net.UnixConn); ok {
		info.unix = true
		info.uid, info.pid, info.credErr = peerCred(uc)
	}
	return context.WithValue(ctx, connKey{}, info)
}

func peerCred(c *net.UnixConn) (uid, pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// LookupUID returns the local user name of uid ("" if unknown).
func LookupUID(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}

// authenticate works out who sent r: a bearer token (any listener), the
// verified client certificate (TLS) or the unix peer's uid.
func (g *Guard) authenticate(r *http.Request) (Identity, error) {
	id := Identity{Source: r.RemoteAddr}
	info, _ := r.Context().Value(connKey{}).(*connInfo)
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return id, errors.New("authentication failed: Authorization must be a Bearer token")
		}
		name, ok := g.acc().TokenUser(strings.TrimSpace(tok))
		if !ok {
			return id, errors.New("authentication failed: unknown bearer token")
		}
		id.Name, id.Auth = name, "token"
		id.Groups = g.acc().Groups(name)
		if info != nil && info.unix {
			id.Source = fmt.Sprintf("unix:uid=%d,pid=%d", info.uid, info.pid)
		}
		return id, nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		cert := r.TLS.VerifiedChains[0][0]
		if cert.Subject.CommonName == "" {
			return id, errors.New("authentication failed: client certificate has no common name")
		}
		id.Name, id.Auth = cert.Subject.CommonName, "cert"
		id.Groups = append(append([]string{}, g.acc().Groups(id.Name)...), cert.Subject.Organization...)
		return id, nil
	}
	if info != nil && info.unix {
		if info.credErr != nil {
			return id, fmt.Errorf("authentication failed: peer credentials: %v", info.credErr)
		}
		id.Name = g.acc().UnixName(info.uid, g.lookupUID)
		id.Auth = "unix"
		id.Groups = g.acc().Groups(id.Name)
		id.Source = fmt.Sprintf("unix:uid=%d,pid=%d", info.uid, info.pid)
		return id, nil
	}
	return id, errors.New("authentication required: present a client certificate or a bearer token")
}

// TLSFiles are the server's TLS settings.
type TLSFiles struct {
	Cert, Key string
	ClientCA  string // CA bundle for client certificates
	// Optional client certificates: when true, clients may authenticate
	// with a bearer token instead of a certificate.
	ClientCertOptional bool
}

// TLSConfig builds a server TLS config (TLS 1.2+, client certificates
// verified against ClientCA).
func (t TLSFiles) TLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("guard: TLS key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("guard: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("guard: client CA %s: no PEM certificates", t.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if t.ClientCertOptional {
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
	} else if !t.ClientCertOptional {
		return nil, errors.New("guard: TCP needs client certificates (a client CA) or bearer tokens")
	}
	return cfg, nil
}

// Listen opens a listener for unix:///path or tcp://host:port. Unix
// sockets are created with mode (e.g. 0660) and group gid (-1: unchanged);
// a stale socket file is replaced. TCP listeners require tlsCfg.
func Listen(raw string, mode os.FileMode, gid int, tlsCfg *tls.Config) (net.Listener, error) {
	switch {
	case strings.HasPrefix(raw, "unix://"):
		p := strings.TrimPrefix(raw, "unix://")
		if p == "" {
			return nil, fmt.Errorf("guard: listen address %q: no path", raw)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		if st, err := os.Lstat(p); err == nil {
			if st.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("guard: %s exists and is not a socket", p)
			}
			if c, err := net.Dial("unix", p); err == nil {
				c.Close()
				return nil, fmt.Errorf("guard: %s is in use", p)
			}
			_ = os.Remove(p)
		}
		l, err := net.Listen("unix", p)
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		if err := os.Chmod(p, mode); err != nil {
			l.Close()
			return nil, fmt.Errorf("guard: %w", err)
		}
		if gid >= 0 {
			if err := os.Chown(p, -1, gid); err != nil {
				l.Close()
				return nil, fmt.Errorf("guard: %w", err)
			}
		}
		return l, nil
	case strings.HasPrefix(raw, "tcp://"):
		if tlsCfg == nil {
			return nil, errors.New("guard: TCP listeners need TLS (--tls-cert, --tls-key and --tls-client-ca or tokens)")
		}
		l, err := net.Listen("tcp", strings.TrimPrefix(raw, "tcp://"))
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		return tls.NewListener(l, tlsCfg), nil
	}
	return nil, fmt.Errorf("guard: listen address %q: want unix:///path or tcp://host:port", raw)
}

// Server timeouts: headers must arrive quickly (slowloris); bodies and
// responses stream for as long as they need (image loads, logs -f).
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
)

// NewServer returns an http.Server for h with the guard's timeouts and
// per-connection peer credentials.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnContext:       connContext,
	}
}

// Serve runs h on every listener until ctx ends, then shuts down
// gracefully (open streams get grace to finish).
func Serve(ctx context.Context, h http.Handler, grace time.Duration, ls ...net.Listener) error {
	srv := NewServer(h)
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	wg.Wait()
	return err
}
