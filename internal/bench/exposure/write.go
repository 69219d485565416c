package exposure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write renders the report as "text" or "json". The document is rendered
// in memory first, so w receives all of it or nothing.
func Write(w io.Writer, format string, r *Report, color bool) error {
	var b bytes.Buffer
	switch strings.ToLower(format) {
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("exposure: json: %w", err)
		}
	case "text", "table":
		writeText(&b, r, color)
	default:
		return fmt.Errorf("exposure: unknown format %q (want text or json)", format)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeText(b *bytes.Buffer, r *Report, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + "\x1b[0m"
	}
	fmt.Fprintf(b, "Probed %d endpoints in %d ms: %d open, %d findings\n", r.Probed, r.Millis, r.Open, len(r.Findings))
	for _, e := range r.Endpoints {
		if e.State == StateClosed {
			continue
		}
		state := e.State
		switch e.State {
		case StateExposed:
			state = paint("\x1b[31m", state)
		case StateProtected:
			state = paint("\x1b[32m", state)
		}
		svc := e.Service
		if svc == "" {
			svc = "-"
		}
		tls := ""
		if e.TLS {
			tls = " (TLS)"
		}
		fmt.Fprintf(b, "  %-24s %-10s %-22s %s%s\n", e.Endpoint, state, svc, e.Detail, tls)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(b, "\n%s %s  %s\n", paint("\x1b[1;31m", "["+f.Severity.String()+"]"), f.Target, f.Title)
		if f.Evidence != "" {
			for _, l := range strings.Split(f.Evidence, "\n") {
				fmt.Fprintf(b, "    seen: %s\n", l)
			}
		}
		if f.Description != "" {
			for _, l := range strings.Split(f.Description, "\n") {
				fmt.Fprintf(b, "    risk: %s\n", l)
			}
		}
		if f.Remediation != "" {
			fmt.Fprintf(b, "    fix:  %s\n", f.Remediation)
		}
	}
	if len(r.Findings) == 0 {
		b.WriteString("No exposed API found.\n")
	}
}
