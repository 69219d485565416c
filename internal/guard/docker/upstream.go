package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Upstream is the daemon the guard forwards to.
type Upstream struct {
	network, addr string
	transport     *http.Transport
	client        *http.Client
}

// NewUpstream parses unix:///var/run/docker.sock or tcp://host:port (plain
// TCP: only for a daemon on a trusted network, e.g. loopback).
func NewUpstream(raw string) (*Upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("guard: upstream %q: %w", raw, err)
	}
	up := &Upstream{}
	switch u.Scheme {
	case "unix":
		up.network, up.addr = "unix", u.Path
	case "tcp":
		up.network, up.addr = "tcp", u.Host
	default:
		return nil, fmt.Errorf("guard: upstream %q: want unix:///path or tcp://host:port", raw)
	}
	if up.addr == "" {
		return nil, fmt.Errorf("guard: upstream %q: no address", raw)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	up.transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, up.network, up.addr)
			if err == nil {
				bigBuffers(c)
			}
			return c, err
		},
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      64 << 10,
	}
	up.client = &http.Client{Transport: up.transport, Timeout: 30 * time.Second}
	return up, nil
}

// String is the upstream's address.
func (u *Upstream) String() string { return u.network + "://" + u.addr }

// Dial opens a raw connection to the daemon (hijacked streams).
func (u *Upstream) Dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	return d.DialContext(ctx, u.network, u.addr)
}

// GetJSON implements Daemon.
func (u *Upstream) GetJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v)
}

// Close releases idle connections.
func (u *Upstream) Close() { u.transport.CloseIdleConnections() }

// socketBuffer is the kernel buffer size asked for on both sides of the
// proxy: large uploads then keep flowing while the guard waits for a CPU
// on a busy host, instead of stalling the client and the daemon.
const socketBuffer = 2 << 20

func bigBuffers(c net.Conn) {
	type buffered interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}
	if b, ok := c.(buffered); ok {
		_ = b.SetReadBuffer(socketBuffer)
		_ = b.SetWriteBuffer(socketBuffer)
	}
}
