package registry

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// spliceMin is the smallest blob worth a dedicated upstream connection.
// Below it (configs, small layers) the pooled reverse proxy is cheaper.
const spliceMin = 1 << 20

// serveBlobGET streams a blob from a plain-HTTP upstream over a connection
// of its own, so that the body can move from the upstream socket to the
// client socket with splice(2) (net.TCPConn.ReadFrom via the HTTP server's
// ReadFrom): no copy through user space, no buffering, flat memory. It
// returns false, having written nothing, when the fast path does not apply
// (TLS upstream, HEAD, small or unsized blobs); the caller then uses the
// reverse proxy.
func (g *Guard) serveBlobGET(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	if g.upstream.Scheme != "http" || r.Method != http.MethodGet {
		return false
	}
	if r.Header.Get("Range") != "" {
		return false
	}
	ctx := r.Context()
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", g.upstream.Host)
	if err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		conn.Close()
	}()
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, g.upstream.Scheme+"://"+g.upstream.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return false
	}
	for _, k := range []string{"Accept", "User-Agent", "If-None-Match"} {
		if v := r.Header.Values(k); len(v) > 0 {
			out.Header[k] = v
		}
	}
	out.Close = true
	if g.opts.UpstreamUsername != "" {
		out.SetBasicAuth(g.opts.UpstreamUsername, g.opts.UpstreamPassword)
	}
	if err := out.Write(conn); err != nil {
		return false
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		return false
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength < spliceMin {
		// Redirects, errors and small blobs: answer from this response
		// through the same header handling as the proxy.
		if err := g.modifyResponse(withRequest(resp, r)); err != nil {
			return false
		}
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return true
	}
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	w.WriteHeader(http.StatusOK)
	// What bufio already read, then the rest straight from the socket.
	n := min(int64(br.Buffered()), resp.ContentLength)
	head, _ := br.Peek(int(n))
	if _, err := w.Write(head); err != nil {
		return true
	}
	if _, err := io.Copy(w, io.LimitReader(conn, resp.ContentLength-n)); err != nil {
		st.reason = "blob stream interrupted: " + err.Error()
	}
	return true
}

// withRequest sets the response's request to the client's (modifyResponse
// reads the request state from it).
func withRequest(resp *http.Response, r *http.Request) *http.Response {
	resp.Request = r
	return resp
}

// hopHeaders are not forwarded (RFC 9110 section 7.6.1).
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if hopHeaders[k] || strings.HasPrefix(k, "Proxy-") {
			continue
		}
		dst[k] = v
	}
}
