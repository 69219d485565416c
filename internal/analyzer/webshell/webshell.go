// Package webshell registers the analyzer that scores PHP, JSP, ASP/ASP.NET
// and Python files (and .cgi scripts written in PHP or Python) as
// webshells: scripts that let whoever can send a request run code or
// commands on the server.
//
// Each file is lexed just enough to know which bytes are code, which are
// strings and which are comments or page text, so that sink names in
// docstrings, comments and HTML do not count. Then:
//
//   - sources are request input: $_GET/$_POST/$_REQUEST/$_COOKIE/$_FILES,
//     HTTP headers, php://input; request.getParameter/getHeader/getReader;
//     Request.Form/QueryString/Item/Request("x"); Flask/Django request.args,
//     form, GET, POST..., cgi.FieldStorage(), QUERY_STRING;
//   - sinks evaluate code (eval, assert, create_function, preg_replace /e,
//     exec(), ScriptEngine.eval, VBScript Execute), run commands (system,
//     exec, shell_exec, passthru, popen, proc_open, backticks,
//     Runtime.exec, ProcessBuilder, Process.Start, WScript.Shell,
//     os.system, subprocess), include files, call functions by name
//     (call_user_func, array_map, ...) or load code from bytes
//     (defineClass, Assembly.Load);
//   - variables assigned from sources (or from variables that are) are
//     followed for three rounds of assignments, as are variables holding
//     decoded data (base64_decode, gzinflate, str_rot13, b64decode, ...)
//     and variables holding the name of a dangerous function.
//
// Signals and points (one of each kind counts, the strongest):
//
//	request-to-sink          70  request input passed straight to a code or command sink
//	                         55  ... through a variable
//	request-calls-function   70  a request value called as a function ($_GET['f']($_GET['c']))
//	                         60  call_user_func & co. with a callback from the request
//	request-code-loading     50  request bytes decoded/decrypted and loaded as classes or assemblies
//	reverse-shell            50  a socket, a process given its descriptors, and a shell
//	decoded-payload       <= 70  a base64 string literal (inflated when compressed) holds code that
//	                             scores a strong signal of its own: its score, at most 70
//	decode-to-eval           40  decoded data evaluated (+10 per extra decoder in the chain, up to +20)
//	hidden-name              35  eval, system, base64_decode, $_POST ... spelled with \x escapes,
//	                             chr() chains, concatenated literals ("ba"."se64_decode") or base64
//	                             ("YXNzZXJ0"); hidden superglobals count as request input
//	dangerous-callback       35  a dangerous function passed around by name ('assert', $f = 'system')
//	                             (70 when it is given request input)
//	request-include          35  request input decides which file is included (20 through a variable)
//	family-marker            25  name or banner of a known family (FilesMan, b374k, c99, r57, ...,
//	                             and the XOR loop Behinder and Godzilla decrypt requests with)
//	request-and-sink         10  request input and a sink in one file, not connected
//
// Supporting signals count only next to a strong one (any signal above but
// family-marker, request-and-sink and request-include through a
// variable): an encoded string of 1 KiB or
// more +15 (10 KiB +25), file entropy of 5.6 bits per byte or more +10,
// dense \xNN escapes +10, long chr() chains +10, @eval/@assert +10, a JSP
// or ASP page naming a command shell +15. Obfuscation alone (an escaped
// table, a data URI) therefore never reaches a finding.
//
// Base64 literals are decoded one level deep, at most 32 per file and 1 MiB
// of decoded text. Variables are followed within 8 KiB of their assignment
// (files have no scopes here).
//
// The score is capped at 100. A file scoring 70 or more is CRITICAL, 50
// HIGH, 30 MEDIUM; below 30 there is no finding. Files above 2.5 MiB are
// scored on their first 2 MiB and last 512 KiB (attribute truncated=true),
// so memory and time stay bounded whatever the size; regular expressions
// only run anchored at literal hits, so time is linear in the file.
package webshell

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "webshell"

// RuleID of the findings.
const RuleID = "PKT-WEBSHELL"

// Size bounds: the analyzer asks for files up to maxSize and reads at most
// headSize from the start and tailSize from the end.
const (
	maxSize  = 64 << 20
	headSize = 2 << 20
	tailSize = 512 << 10
)

func init() { analyzer.Register(webshell{}) }

type webshell struct{}

func (webshell) Name() string { return Name }
func (webshell) Version() int { return 1 }

// exts are the extensions the analyzer reads.
var exts = map[string]bool{
	".php": true, ".phtml": true, ".php3": true, ".php4": true, ".php5": true, ".php7": true, ".php8": true,
	".pht": true, ".inc": true, ".jsp": true, ".jspx": true, ".jspf": true, ".asp": true, ".aspx": true,
	".ashx": true, ".asmx": true, ".py": true, ".pyw": true, ".cgi": true,
}

// Required wants regular, non-empty files with a script extension.
func (webshell) Required(p string, info fs.FileInfo) bool {
	if !info.Mode().IsRegular() || info.Size() == 0 || info.Size() > maxSize {
		return false
	}
	ext := path.Ext(p)
	if exts[ext] {
		return true
	}
	// Extensions are case-insensitive on the servers that run ASP.
	return ext != "" && exts[strings.ToLower(ext)]
}

// Analyze scores the file and reports it when the score reaches MEDIUM.
func (webshell) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	size := in.Content.Size()
	if size <= 0 {
		return &analyzer.Result{}, nil
	}
	var parts []struct {
		b    []byte
		base int64
	}
	data, inMemory := analyzer.Bytes(in.Content)
	read := func(off, n int64) error {
		if inMemory && off+n <= int64(len(data)) { // scored where it is: nothing writes to it
			parts = append(parts, struct {
				b    []byte
				base int64
			}{data[off : off+n], off})
			return nil
		}
		b := make([]byte, n)
		m, err := in.Content.ReadAt(b, off)
		if m < len(b) && err != nil && err != io.EOF {
			return err
		}
		parts = append(parts, struct {
			b    []byte
			base int64
		}{b[:m], off})
		return nil
	}
	truncated := size > headSize+tailSize
	if !truncated {
		if err := read(0, size); err != nil {
			return nil, fmt.Errorf("webshell: %s: %w", in.Path, err)
		}
	} else {
		if err := read(0, headSize); err != nil {
			return nil, fmt.Errorf("webshell: %s: %w", in.Path, err)
		}
		if err := read(size-tailSize, tailSize); err != nil {
			return nil, fmt.Errorf("webshell: %s: %w", in.Path, err)
		}
	}
	l := langFor(in.Path, parts[0].b)
	if l == nil {
		return &analyzer.Result{}, nil
	}
	var best verdict
	var bestPart []byte
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if v := score(l, p.b); bestPart == nil || v.score > best.score {
			best, bestPart = v, p.b
		}
	}
	sev := severity(best.score)
	if sev == finding.Unknown {
		return &analyzer.Result{}, nil
	}
	return &analyzer.Result{Findings: []*finding.Finding{newFinding(in.Path, l, best, bestPart, sev, truncated)}}, nil
}

func severity(score int) finding.Severity {
	switch {
	case score >= scoreCritical:
		return finding.Critical
	case score >= scoreHigh:
		return finding.High
	case score >= scoreMedium:
		return finding.Medium
	}
	return finding.Unknown
}

// obfuscation signals earn the T1027 tag.
var obfuscation = map[string]bool{
	"decode-to-eval": true, "hidden-name": true, "long-encoded-string": true, "dense-escapes": true,
	"chr-chain": true, "request-code-loading": true,
}

func newFinding(p string, l *lang, v verdict, b []byte, sev finding.Severity, truncated bool) *finding.Finding {
	top := v.signals[0]
	var names, details []string
	tags := []string{"webshell", "T1505.003"}
	obf, cmd := false, false
	for _, s := range v.signals {
		names = append(names, s.name+":"+strconv.Itoa(s.points))
		details = append(details, s.detail)
		obf = obf || obfuscation[s.name]
		cmd = cmd || strings.Contains(s.detail, "command") || s.name == "reverse-shell"
	}
	if obf {
		tags = append(tags, "T1027")
	}
	if cmd {
		tags = append(tags, "T1059")
	}
	attrs := map[string]string{
		"score":    strconv.Itoa(v.score),
		"language": l.name,
		"signals":  strings.Join(names, ","),
	}
	if truncated {
		attrs["truncated"] = "true"
	}
	loc := finding.Location{Path: p}
	if top.end > top.off {
		loc.Line = 1 + strings.Count(string(b[:top.off]), "\n")
	}
	return &finding.Finding{
		Kind:     finding.KindMalware,
		Severity: sev,
		RuleID:   RuleID,
		Title:    fmt.Sprintf("%s webshell: %s (score %d)", l.name, top.detail, v.score),
		Description: "Scored " + strconv.Itoa(v.score) + "/100 from: " + strings.Join(details, "; ") +
			". A webshell lets anyone who can reach the web server run code or commands in the container.",
		Location:    loc,
		Evidence:    evidence(b[top.off:top.end]),
		Remediation: "Remove the file and rebuild the image from trusted sources; find how it got into the image and treat containers run from it as compromised.",
		Tags:        tags,
		Attributes:  attrs,
	}
}

// evidence renders a snippet on one line, printable, at most 160 runes.
func evidence(b []byte) string {
	var sb strings.Builder
	n := 0
	for len(b) > 0 && n < 160 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '?'
		case r < 0x20 || r == 0x7f:
			r = ' '
		}
		sb.WriteRune(r)
		n++
	}
	s := strings.Join(strings.Fields(sb.String()), " ")
	if len(b) > 0 {
		s += "…"
	}
	return s
}
