// Package fscheck registers the image analyzer that checks the merged
// filesystem's metadata: setuid and setgid files (flagged when no package
// installed them), world-writable files and directories, files left behind
// that should not ship (.git, .env, private keys), executables in system
// directories that no package owns, and image size and file count against
// limits (inode exhaustion on hosts that run many containers).
package fscheck

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/docker/go-units"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/layer"
)

// Name of the analyzer.
const Name = "fscheck"

// Defaults for analyzer.Limits.
const (
	DefaultMaxImageBytes int64 = 2 << 30
	DefaultMaxFiles            = 500_000
)

// maxPerRule bounds findings per rule; the rest are counted in one summary.
const maxPerRule = 50

func init() { analyzer.RegisterImage(check{}) }

type check struct{}

func (check) Name() string { return Name }

// systemDirs hold files package managers own; anything else there was
// dropped in by hand.
// (Libraries are left out: their trees are full of executable bits.)
var systemDirs = []string{"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/libexec/"}

// unneeded names files that should never ship in an image.
func unneeded(e *layer.Entry) (string, finding.Severity, bool) {
	base := path.Base(e.Path)
	switch {
	case e.Type == layer.TypeDir && base == ".git":
		return "a git repository (source, history, maybe credentials)", finding.Medium, true
	case e.Type == layer.TypeDir && (base == ".svn" || base == ".hg"):
		return "a version-control directory", finding.Medium, true
	case e.Type == layer.TypeReg && (base == ".env" || strings.HasPrefix(base, ".env.") && !strings.HasSuffix(base, ".example") && !strings.HasSuffix(base, ".sample")):
		return "an environment file (often holds secrets)", finding.Medium, true
	case e.Type == layer.TypeReg && (base == "id_rsa" || base == "id_dsa" || base == "id_ecdsa" || base == "id_ed25519"):
		return "an SSH private key", finding.High, true
	case e.Type == layer.TypeReg && (strings.HasSuffix(base, ".pem") || strings.HasSuffix(base, ".key") || strings.HasSuffix(base, ".p12") || strings.HasSuffix(base, ".pfx")) && !systemCertPath(e.Path):
		return "a key or certificate file", finding.Low, true
	case e.Type == layer.TypeReg && (base == ".bash_history" || base == ".psql_history" || base == ".mysql_history" || base == ".python_history"):
		return "a shell or client history file", finding.Medium, true
	case e.Type == layer.TypeReg && (base == ".DS_Store" || base == "Thumbs.db"):
		return "desktop metadata", finding.Info, true
	}
	return "", 0, false
}

// systemCertPath covers where distros keep CA certificates and test keys
// that are meant to ship.
func systemCertPath(p string) bool {
	for _, pre := range []string{"/etc/ssl/", "/usr/share/ca-certificates/", "/etc/ca-certificates/", "/usr/local/share/ca-certificates/", "/etc/pki/", "/usr/share/doc/", "/usr/lib/python3", "/usr/share/pki/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return strings.Contains(p, "/test/") || strings.Contains(p, "/tests/") || strings.Contains(p, "/testdata/")
}

func (check) AnalyzeImage(_ context.Context, in *analyzer.ImageInput) ([]*finding.Finding, error) {
	if in.FS == nil {
		return nil, nil
	}
	lim := in.Limits
	if lim.MaxImageBytes <= 0 {
		lim.MaxImageBytes = DefaultMaxImageBytes
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	var out []*finding.Finding
	counts := map[string]int{}
	add := func(f *finding.Finding) {
		counts[f.RuleID]++
		if counts[f.RuleID] <= maxPerRule {
			f.Kind = finding.KindMisconfig
			f.Target = in.Name
			out = append(out, f)
		}
	}
	var total int64
	files := 0
	in.FS.Walk(func(e *layer.Entry, l int) bool {
		files++
		if e.Type == layer.TypeReg {
			total += e.Size
		}
		owner, owned := "", false
		if in.Owner != nil {
			owner, owned = in.Owner(e.Path)
		}
		if e.Type == layer.TypeReg && e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			bits := "setuid"
			if e.Mode&fs.ModeSetuid == 0 {
				bits = "setgid"
			} else if e.Mode&fs.ModeSetgid != 0 {
				bits = "setuid+setgid"
			}
			f := &finding.Finding{RuleID: "PKT-FS-SETUID", Location: finding.Location{Path: e.Path},
				Evidence: fmt.Sprintf("%s %s uid=%d gid=%d", bits, e.FileMode(), e.UID, e.GID),
				Tags:     []string{"CIS-4.8", "T1548.001"}}
			switch {
			case owned:
				f.Severity, f.Title = finding.Info, fmt.Sprintf("%s file installed by %s", bits, owner)
				f.Remediation = "Remove the bit if the image does not need it (chmod u-s,g-s)."
			case in.HasPackageDB:
				f.Severity, f.Title = finding.High, fmt.Sprintf("%s file not installed by any package", bits)
				f.Remediation = "Find out who put it there; a setuid binary outside the package manager is a classic privilege-escalation plant."
			default:
				f.Severity, f.Title = finding.Medium, fmt.Sprintf("%s file", bits)
				f.Remediation = "Remove the bit unless the image needs it."
			}
			add(f)
		}
		if e.Mode&0o002 != 0 && (e.Type == layer.TypeReg || e.Type == layer.TypeDir && e.Mode&fs.ModeSticky == 0) {
			add(&finding.Finding{RuleID: "PKT-FS-WORLD-WRITABLE", Severity: finding.Medium,
				Title:       "World-writable " + e.Type.String(),
				Location:    finding.Location{Path: e.Path},
				Evidence:    e.FileMode().String(),
				Remediation: "chmod o-w; directories shared by users need the sticky bit (chmod +t).",
				Tags:        []string{"T1222"}})
		}
		if why, sev, ok := unneeded(e); ok && !owned {
			add(&finding.Finding{RuleID: "PKT-FS-UNNEEDED", Severity: sev, Title: "File that should not ship: " + why,
				Location: finding.Location{Path: e.Path}, Remediation: "Exclude it with .dockerignore or delete it in the same layer that creates it."})
		}
		if in.HasPackageDB && !owned && e.Type == layer.TypeReg && e.Mode&0o111 != 0 && inSystemDir(e.Path) {
			add(&finding.Finding{RuleID: "PKT-FS-UNOWNED-EXECUTABLE", Severity: finding.Medium,
				Title:       "Executable in a system directory that no package installed",
				Location:    finding.Location{Path: e.Path},
				Evidence:    fmt.Sprintf("%s %d bytes", e.FileMode(), e.Size),
				Remediation: "Install software with the package manager or under /usr/local or /opt; check where this file came from.",
				Tags:        []string{"T1036"}})
		}
		return true
	})
	for id, n := range counts {
		if n > maxPerRule {
			out = append(out, &finding.Finding{Kind: finding.KindMisconfig, Severity: finding.Info, RuleID: id, Target: in.Name,
				Title: fmt.Sprintf("%d more %s findings not listed", n-maxPerRule, id)})
		}
	}
	if total > lim.MaxImageBytes {
		out = append(out, &finding.Finding{Kind: finding.KindMisconfig, Severity: finding.Medium, RuleID: "PKT-FS-IMAGE-SIZE", Target: in.Name,
			Title:       fmt.Sprintf("Image holds %s of files (limit %s)", units.BytesSize(float64(total)), units.BytesSize(float64(lim.MaxImageBytes))),
			Remediation: "Use a smaller base image, multi-stage builds, and delete build artefacts in the layer that makes them."})
	}
	if files > lim.MaxFiles {
		out = append(out, &finding.Finding{Kind: finding.KindMisconfig, Severity: finding.Medium, RuleID: "PKT-FS-FILE-COUNT", Target: in.Name,
			Title:       fmt.Sprintf("Image holds %d files (limit %d): inode exhaustion risk on shared hosts", files, lim.MaxFiles),
			Remediation: "Trim dependencies (node_modules, caches); bundle assets."})
	}
	return out, nil
}

func inSystemDir(p string) bool {
	for _, d := range systemDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}
