package output

import (
	"fmt"
	"os"
	"strings"
)

// SpecOptions are settings shared by outputs opened from specs.
type SpecOptions struct {
	FileMaxSize int64 // rotate files at this size (0: 100 MiB)
	FileKeep    int   // rotated files kept (0: 5)
	Webhook     WebhookOptions
	SyslogTag   string
}

// Open opens the output named by spec:
//
//	stdout                        JSON lines on standard output
//	file:/var/log/picket.jsonl    JSON lines to a file rotated by size
//	webhook:https://host/path     POST each alert (JSON) with retries
//	syslog                        local syslog daemon
//	syslog:udp://host:514         remote syslog (udp, tcp, unix, unixgram)
func Open(spec string, o SpecOptions) (Output, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "stdout":
		if arg != "" {
			break
		}
		return NewJSON("stdout", os.Stdout), nil
	case "file":
		if arg == "" {
			return nil, fmt.Errorf("output: %q: want file:PATH", spec)
		}
		if o.FileMaxSize == 0 {
			o.FileMaxSize = 100 << 20
		}
		return NewFile(arg, o.FileMaxSize, o.FileKeep)
	case "webhook":
		return NewWebhook(arg, o.Webhook)
	case "syslog":
		return NewSyslog(arg, o.SyslogTag)
	}
	return nil, fmt.Errorf("output: unknown output %q (want stdout, file:PATH, webhook:URL, syslog[:ADDR])", spec)
}
