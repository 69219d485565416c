// Package history registers the image analyzer that lints an image's
// configuration and build history the way Dockle and the CIS Docker
// Benchmark (section 4) do: the user it runs as, ADD versus COPY, package
// manager hygiene, piped installs, secrets in ENV, labels and build
// arguments, sensitive volumes and exposed ports, HEALTHCHECK, sshd, sudo.
package history

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "history"

func init() { analyzer.RegisterImage(lint{}) }

type lint struct{}

func (lint) Name() string { return Name }

// check is one rule's metadata.
type check struct {
	id, title, remediation string
	sev                    finding.Severity
	tags                   []string
}

// Checks lists every rule of this analyzer, for documentation and config.
var Checks = []check{
	{"PKT-IMG-ROOT-USER", "Image runs as root", "Add a USER instruction with an unprivileged user.", finding.Medium, []string{"CIS-4.1"}},
	{"PKT-IMG-NO-HEALTHCHECK", "No HEALTHCHECK instruction", "Add a HEALTHCHECK so orchestrators can detect a broken container.", finding.Low, []string{"CIS-4.6"}},
	{"PKT-IMG-ADD", "ADD used where COPY fits", "Use COPY for local files; ADD's implicit extraction and URL fetching are surprises.", finding.Low, []string{"CIS-4.9"}},
	{"PKT-IMG-ADD-REMOTE", "ADD fetches a remote URL", "Download with curl/wget and verify a checksum, or COPY a vetted file.", finding.Medium, []string{"CIS-4.9"}},
	{"PKT-IMG-UPDATE-ALONE", "apt-get update in its own RUN", "Run update and install in the same RUN so the cache layer never goes stale.", finding.Low, []string{"CIS-4.7"}},
	{"PKT-IMG-DIST-UPGRADE", "Distribution upgrade in the image build", "Rebuild from a newer base image instead of upgrading in place.", finding.Low, nil},
	{"PKT-IMG-APT-CACHE", "Package lists left in the image", "Remove /var/lib/apt/lists/* in the RUN that installs packages.", finding.Low, nil},
	{"PKT-IMG-APK-CACHE", "apk add without --no-cache", "Use apk add --no-cache.", finding.Low, nil},
	{"PKT-IMG-SUDO", "sudo in the image", "Drop sudo; run the process as the user it needs to be.", finding.Low, []string{"CIS-4.1"}},
	{"PKT-IMG-LATEST", "Base image pinned to latest", "Pin the base image by tag and digest.", finding.Low, nil},
	{"PKT-IMG-SENSITIVE-VOLUME", "VOLUME on a kernel filesystem", "Never declare /dev, /proc or /sys as a volume.", finding.High, nil},
	{"PKT-IMG-SECRET-ENV", "Secret in an ENV variable", "Pass secrets at run time (secret mounts, orchestrator secrets), never in the image.", finding.High, []string{"CIS-4.10", "T1552"}},
	{"PKT-IMG-SECRET-LABEL", "Secret in a label", "Remove the secret from the label and rotate it.", finding.High, []string{"CIS-4.10", "T1552"}},
	{"PKT-IMG-SECRET-HISTORY", "Secret in the build history", "Use BuildKit secret mounts; build arguments and RUN lines are kept in the image history. Rotate the secret.", finding.High, []string{"CIS-4.10", "T1552"}},
	{"PKT-IMG-PIPE-INSTALL", "Script piped from the network into a shell", "Download, verify a checksum or signature, then run.", finding.High, []string{"T1059"}},
	{"PKT-IMG-EXPOSE-SSH", "SSH port exposed", "Do not run SSH in containers; use docker exec or kubectl exec.", finding.Medium, []string{"CIS-4.8"}},
	{"PKT-IMG-EXPOSE-DOCKER", "Docker API port exposed", "Never expose the Docker API (2375/2376) from a container.", finding.High, nil},
	{"PKT-IMG-SSHD", "SSH server installed", "Remove the SSH server from the image.", finding.Medium, []string{"CIS-5.6"}},
}

func byID(id string) check {
	for _, c := range Checks {
		if c.id == id {
			return c
		}
	}
	panic("history: unknown check " + id)
}

func (l lint) AnalyzeImage(_ context.Context, in *analyzer.ImageInput) ([]*finding.Finding, error) {
	var out []*finding.Finding
	add := func(id, evidence string, extra ...string) {
		c := byID(id)
		title := c.title
		if len(extra) > 0 && extra[0] != "" {
			title += ": " + extra[0]
		}
		out = append(out, &finding.Finding{
			Kind: finding.KindMisconfig, Severity: c.sev, RuleID: id, Title: title, Target: in.Name,
			Evidence: truncate(evidence, 300), Remediation: c.remediation, Tags: c.tags,
		})
	}
	l.packageChecks(in, add)
	if in.Config == nil {
		return out, nil
	}
	cfg := in.Config.Config
	switch u := strings.TrimSpace(cfg.User); u {
	case "", "root", "0", "0:0", "root:root", "root:0", "0:root":
		add("PKT-IMG-ROOT-USER", "USER "+orDash(u))
	}
	if cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) > 0 && strings.EqualFold(cfg.Healthcheck.Test[0], "NONE") {
		add("PKT-IMG-NO-HEALTHCHECK", "no HEALTHCHECK in the image config")
	}
	for _, v := range sortedKeys(cfg.Volumes) {
		if p := path.Clean("/" + v); p == "/dev" || p == "/proc" || p == "/sys" || strings.HasPrefix(p, "/dev/") || strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/") {
			add("PKT-IMG-SENSITIVE-VOLUME", "VOLUME "+v)
		}
	}
	for _, p := range sortedKeys(cfg.ExposedPorts) {
		port, _, _ := strings.Cut(p, "/")
		switch port {
		case "22":
			add("PKT-IMG-EXPOSE-SSH", "EXPOSE "+p)
		case "2375", "2376":
			add("PKT-IMG-EXPOSE-DOCKER", "EXPOSE "+p)
		}
	}
	for _, e := range cfg.Env {
		k, v, _ := strings.Cut(e, "=")
		if secretPair(k, v) {
			add("PKT-IMG-SECRET-ENV", k+"="+redact(v), k)
		}
	}
	for _, k := range sortedKeys(cfg.Labels) {
		if v := cfg.Labels[k]; secretPair(k, v) {
			add("PKT-IMG-SECRET-LABEL", k+"="+redact(v), k)
		}
	}
	if base := cfg.Labels["org.opencontainers.image.base.name"]; base != "" && (strings.HasSuffix(base, ":latest") || !strings.Contains(path.Base(base), ":") && !strings.Contains(base, "@")) {
		add("PKT-IMG-LATEST", "org.opencontainers.image.base.name="+base)
	}
	l.historyChecks(in, add)
	return out, nil
}

// packageChecks look at the inventory.
func (lint) packageChecks(in *analyzer.ImageInput, add func(string, string, ...string)) {
	for _, p := range in.Packages {
		switch p.Name {
		case "sudo":
			if p.IsOS() {
				add("PKT-IMG-SUDO", fmt.Sprintf("package %s %s", p.Name, p.Version))
			}
		case "openssh-server", "dropbear", "dropbear-bin":
			if p.IsOS() {
				add("PKT-IMG-SSHD", fmt.Sprintf("package %s %s", p.Name, p.Version))
			}
		}
	}
}

var (
	reRunPrefix  = regexp.MustCompile(`^(?:/bin/sh -c |RUN )`)
	reAptUpdate  = regexp.MustCompile(`\bapt(?:-get)?\s+(?:-\S+\s+)*update\b`)
	reAptInstall = regexp.MustCompile(`\bapt(?:-get)?\s+(?:-\S+\s+)*install\b`)
	reUpgrade    = regexp.MustCompile(`\bapt(?:-get)?\s+(?:-\S+\s+)*(?:dist-upgrade|full-upgrade|upgrade)\b|\bapk\s+(?:-\S+\s+)*upgrade\b|\b(?:yum|dnf)\s+(?:-\S+\s+)*(?:upgrade|update)\b`)
	reAptClean   = regexp.MustCompile(`rm\s+(?:-\S+\s+)*/var/lib/apt/lists`)
	reApkAdd     = regexp.MustCompile(`\bapk\s+(?:-\S+\s+)*add\b`)
	rePipe       = regexp.MustCompile(`\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?(?:(?:/usr)?/bin/)?(?:ba|z|k|a|da)?sh\b|\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?(?:python[0-9.]*|perl|ruby|node)\b`)
	reAddCmd     = regexp.MustCompile(`(?:#\(nop\)\s+|^)ADD\s+(?:--\S+\s+)*(\S+)`)
	reBuildArgs  = regexp.MustCompile(`^\|\d+\s+(.*?)\s+(?:/bin/sh -c|RUN)\b`)
	reSudo       = regexp.MustCompile(`(?:^|[;&|]\s*)sudo\s`)
	reInlineCred = regexp.MustCompile(`(?i)(?:--password[= ]|--passwd[= ]|\bmysql\b.*\s-p(\S{3,})|\bcurl\b.*\s-u\s*\S+:(\S+)|://[^/\s:@]+:([^@\s/]{3,})@|\b(?:token|api[_-]?key|secret)=(\S{8,}))`)
)

// redactArgs masks the values of secret-like build arguments that Docker
// records in front of RUN commands ("|2 NPM_TOKEN=... VERSION=1 /bin/sh -c"),
// so that no finding's evidence repeats them.
func redactArgs(cmd string) string {
	m := reBuildArgs.FindStringSubmatchIndex(cmd)
	if m == nil {
		return cmd
	}
	var parts []string
	for _, kv := range strings.Fields(cmd[m[2]:m[3]]) {
		if k, v, ok := strings.Cut(kv, "="); ok && secretPair(k, v) {
			kv = k + "=" + redact(v)
		}
		parts = append(parts, kv)
	}
	return cmd[:m[2]] + strings.Join(parts, " ") + cmd[m[3]:]
}

// historyChecks lint each history entry's command.
func (lint) historyChecks(in *analyzer.ImageInput, add func(string, string, ...string)) {
	layerIdx := 0
	for i, h := range in.Config.History {
		raw := strings.TrimSpace(h.CreatedBy)
		cmd := redactArgs(raw)
		first := layerIdx == 0 && !h.EmptyLayer
		if !h.EmptyLayer {
			layerIdx++
		}
		if cmd == "" {
			continue
		}
		if m := reBuildArgs.FindStringSubmatch(raw); m != nil {
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				if secretPair(k, v) {
					add("PKT-IMG-SECRET-HISTORY", fmt.Sprintf("history[%d]: build argument %s=%s", i, k, redact(v)), "build argument "+k)
				}
			}
		}
		if m := reInlineCred.FindStringSubmatch(raw); m != nil {
			secret := ""
			for _, g := range m[1:] {
				if g != "" {
					secret = g
				}
			}
			if secret == "" || !placeholder(secret) {
				add("PKT-IMG-SECRET-HISTORY", fmt.Sprintf("history[%d]: %s", i, redactIn(cmd, secret)), "credential on a command line")
			}
		}
		if m := reAddCmd.FindStringSubmatch(cmd); m != nil {
			src := m[1]
			switch {
			case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
				add("PKT-IMG-ADD-REMOTE", fmt.Sprintf("history[%d]: %s", i, cmd))
			case first && strings.HasPrefix(src, "file:"):
				// The base image's root filesystem: ADD is how it is made.
			case isArchive(src):
				// Extracting a local archive is what ADD is for.
			default:
				add("PKT-IMG-ADD", fmt.Sprintf("history[%d]: %s", i, cmd))
			}
		}
		run := reRunPrefix.ReplaceAllString(cmd, "")
		if reAptUpdate.MatchString(run) && !reAptInstall.MatchString(run) {
			add("PKT-IMG-UPDATE-ALONE", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
		if reUpgrade.MatchString(run) {
			add("PKT-IMG-DIST-UPGRADE", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
		if reAptInstall.MatchString(run) && !reAptClean.MatchString(run) {
			add("PKT-IMG-APT-CACHE", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
		if reApkAdd.MatchString(run) && !strings.Contains(run, "--no-cache") && !strings.Contains(run, "/var/cache/apk") {
			add("PKT-IMG-APK-CACHE", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
		if rePipe.MatchString(run) {
			add("PKT-IMG-PIPE-INSTALL", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
		if reSudo.MatchString(run) {
			add("PKT-IMG-SUDO", fmt.Sprintf("history[%d]: %s", i, cmd))
		}
	}
}

func isArchive(src string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(src, ext) {
			return true
		}
	}
	return false
}

var reSecretKey = regexp.MustCompile(`(?i)(?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth)`)

var reSecretValue = regexp.MustCompile(`^(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abpr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20}|sk_live_[A-Za-z0-9]{24,}|-----BEGIN [A-Z ]*PRIVATE KEY-----.*)$`)

// notSecretKey lists variable names that contain a secret-like word but
// name files, paths or switches, not secret values.
var reNotSecretKey = regexp.MustCompile(`(?i)(?:_FILE|_PATH|_DIR|_URL|_HOST|_PORT|_USER(?:NAME)?|_ENABLED?|_LENGTH|_MIN|_MAX|_TYPE|_MODE|_METHOD)$`)

// secretPair reports a key/value that looks like a real secret: a value
// with a known token shape, or a secret-like name with a non-placeholder value.
func secretPair(k, v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if reSecretValue.MatchString(v) {
		return true
	}
	return reSecretKey.MatchString(k) && !reNotSecretKey.MatchString(k) && !placeholder(v) && !strings.HasPrefix(v, "/")
}

// placeholder recognises values that are not secrets: variable references,
// booleans, empty-ish markers.
func placeholder(v string) bool {
	l := strings.ToLower(strings.Trim(v, `"'`))
	if len(l) < 4 || strings.HasPrefix(l, "$") || strings.HasPrefix(l, "${") {
		return true
	}
	switch l {
	case "true", "false", "none", "null", "changeit-at-runtime", "example", "placeholder", "redacted", "xxxxxx", "******", "<secret>":
		return true
	}
	return strings.Trim(l, "x*<>-_.") == ""
}

func redact(v string) string {
	if len(v) <= 4 {
		return "****"
	}
	return v[:4] + "****"
}

func redactIn(cmd, secret string) string {
	if secret == "" {
		return cmd
	}
	return strings.ReplaceAll(cmd, secret, redact(secret))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func orDash(s string) string {
	if s == "" {
		return "(unset: root)"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
