package webshell

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"io"
	"strconv"
	"sync"
)

// Bounds on decoding string literals.
const (
	maxPayloads     = 32      // literals decoded per file
	maxPayloadBytes = 1 << 20 // decoded (and inflated) bytes per file
	minPayload      = 8       // shortest literal worth decoding
	ptPayloadMax    = 70      // the most a decoded payload's own score adds
)

// payloads decodes base64 string literals (inflating them when they are
// compressed, as gzinflate(base64_decode('...')) chains are) and looks at
// what they hide: a sensitive name ("YXNzZXJ0" is "assert") counts as a
// hidden name; code is scored on its own, one level deep, and a strong
// verdict becomes the decoded-payload signal. It returns where the hiding
// literals are.
func (f *file) payloads() [][2]int {
	if f.depth > 0 {
		return nil
	}
	var found [][2]int
	budget, n := maxPayloadBytes, 0
	for i := 0; i < len(f.raw) && n < maxPayloads && budget > 0; {
		if f.cls[i] != clString {
			i++
			continue
		}
		j := i
		for j < len(f.raw) && f.cls[j] == clString {
			j++
		}
		a, b := i+1, j-1 // inside the quotes
		i = j
		if b-a < minPayload || !isBase64(f.raw[a:b]) {
			continue
		}
		n++
		dec := decodeBase64(f.raw[a:b])
		if len(dec) == 0 {
			continue
		}
		if !printableText(dec) {
			dec = inflate(dec, budget)
			if !printableText(dec) {
				continue
			}
		}
		budget -= len(dec)
		if name := sensitiveIn(asciiLower(dec), nil); name != "" && len(bytes.TrimSpace(dec)) == len(name) {
			found = append(found, [2]int{a - 1, b + 1})
			if name[0] == '_' || name[0] == '$' {
				f.hiddenSrcs = append(f.hiddenSrcs, [2]int{a - 1, b + 1})
			}
			off, end := f.snippet(a-1, b+1)
			f.add(signal{name: "hidden-name", points: ptHiddenName, off: off, end: end, strong: true,
				detail: strconv.Quote(name) + " spelled in base64"})
			continue
		}
		code := dec
		if f.l.name == "PHP" && !bytes.Contains(code, []byte("<?")) {
			code = append([]byte("<?php "), code...)
		}
		v := scoreDepth(f.l, code, f.depth+1)
		if !v.strong() {
			continue
		}
		found = append(found, [2]int{a - 1, b + 1})
		off, end := f.snippet(a-1, b+1)
		f.add(signal{name: "decoded-payload", points: min(v.score, ptPayloadMax), off: off, end: end, strong: true,
			detail: "a base64 string hides code that scores " + strconv.Itoa(v.score) + " (" + v.signals[0].detail + ")"})
	}
	return found
}

// strong reports whether the verdict holds a primary signal.
func (v verdict) strong() bool {
	for _, s := range v.signals {
		if s.strong {
			return true
		}
	}
	return false
}

// isBase64 reports whether b is made of base64 characters (standard or URL
// alphabet, optional padding) and has a plausible length.
func isBase64(b []byte) bool {
	pad := 0
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '-', c == '_':
			if pad > 0 {
				return false
			}
		case c == '=' && i >= len(b)-2:
			pad++
		default:
			return false
		}
	}
	return len(b)%4 == 0 || pad == 0
}

func decodeBase64(b []byte) []byte {
	s := string(bytes.TrimRight(b, "="))
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(s); err == nil {
			return d
		}
	}
	return nil
}

// inflate tries raw deflate, zlib and gzip, reading at most limit bytes.
// flateReaders recycles raw DEFLATE readers: most candidate payloads are
// not compressed at all, and each new reader allocates its window.
var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

func inflate(b []byte, limit int) []byte {
	fr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(fr)
	readers := []func() (io.Reader, error){
		func() (io.Reader, error) { return fr, fr.(flate.Resetter).Reset(bytes.NewReader(b), nil) },
		func() (io.Reader, error) { return zlib.NewReader(bytes.NewReader(b)) },
		func() (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) },
	}
	for _, open := range readers {
		r, err := open()
		if err != nil {
			continue
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(limit)))
		if len(out) > 0 && (err == nil || len(out) == limit) {
			return out
		}
	}
	return nil
}

// printableText reports whether b looks like source code: almost all
// printable ASCII, tabs and newlines.
func printableText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
		}
	}
	return bad*20 < len(b)
}
