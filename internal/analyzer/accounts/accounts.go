// Package accounts registers the analyzer that checks the image's account
// databases: /etc/passwd (extra UID 0 accounts, duplicate UIDs and names,
// empty password fields), /etc/shadow (accounts without a password) and
// /etc/group (duplicate GIDs and names).
package accounts

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "accounts"

const maxSize = 4 << 20

func init() { analyzer.Register(accounts{}) }

type accounts struct{}

func (accounts) Name() string { return Name }
func (accounts) Version() int { return 1 }

func (accounts) Required(p string, info fs.FileInfo) bool {
	switch p {
	case "/etc/passwd", "/etc/shadow", "/etc/group":
		return info.Size() <= maxSize
	}
	return false
}

func (accounts) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	b, err := io.ReadAll(io.LimitReader(in.Content, maxSize))
	if err != nil {
		return nil, fmt.Errorf("accounts: %s: %w", in.Path, err)
	}
	var fs []*finding.Finding
	add := func(line int, sev finding.Severity, id, title, evidence, fix string) {
		fs = append(fs, &finding.Finding{Kind: finding.KindMisconfig, Severity: sev, RuleID: id, Title: title,
			Location: finding.Location{Path: in.Path, Line: line}, Evidence: evidence, Remediation: fix})
	}
	seenID := map[string]string{}
	seenName := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-") {
			continue
		}
		f := strings.Split(line, ":")
		name := f[0]
		if prev, dup := seenName[name]; dup && name != "" {
			add(n, finding.Low, "PKT-ACCT-DUPLICATE-NAME", "Duplicate account name "+name, fmt.Sprintf("lines %d and %d", prev, n), "Remove the duplicate entry.")
		}
		seenName[name] = n
		switch in.Path {
		case "/etc/passwd":
			if len(f) < 7 {
				continue
			}
			if f[1] == "" {
				add(n, finding.High, "PKT-ACCT-EMPTY-PASSWORD", "Account "+name+" has no password", name+"::…", "Lock the account (passwd -l) or set x and use /etc/shadow.")
			}
			if f[2] == "0" && name != "root" {
				add(n, finding.High, "PKT-ACCT-UID0", "Account "+name+" has UID 0 (a second root)", name+":x:0:…", "Give the account its own UID; only root has UID 0.")
			}
			if other, dup := seenID[f[2]]; dup {
				add(n, finding.Medium, "PKT-ACCT-DUPLICATE-UID", fmt.Sprintf("UID %s shared by %s and %s", f[2], other, name), "", "Give every account its own UID.")
			} else {
				seenID[f[2]] = name
			}
		case "/etc/shadow":
			if len(f) < 2 {
				continue
			}
			if f[1] == "" {
				add(n, finding.High, "PKT-ACCT-EMPTY-PASSWORD", "Account "+name+" can log in without a password", name+"::…", "Lock the account: passwd -l "+name+".")
			}
		case "/etc/group":
			if len(f) < 3 {
				continue
			}
			if other, dup := seenID[f[2]]; dup {
				add(n, finding.Low, "PKT-ACCT-DUPLICATE-GID", fmt.Sprintf("GID %s shared by %s and %s", f[2], other, name), "", "Give every group its own GID.")
			} else {
				seenID[f[2]] = name
			}
		}
	}
	return &analyzer.Result{Findings: fs}, nil
}
