package match

import (
	"strings"

	"github.com/picket-cdr/picket/internal/inventory"
)

// query is what to look a package up by in the vulnerability database.
type query struct {
	ecosystem string // OSV ecosystem, with the distro release where OSV has one
	name      string
	version   string
}

// queryFor maps an inventory package to its OSV lookup. Distro packages are
// looked up by their source package and the distro release, because distro
// advisories are written per source package and per release (a fix
// backported to Debian 12 is not a fix in Debian 11). ok is false for
// packages no feed covers.
func queryFor(p *inventory.Package, d inventory.Distro) (query, bool) {
	switch p.Ecosystem {
	case inventory.Debian, inventory.Ubuntu:
		rel := d.VersionID
		if p.Ecosystem == inventory.Debian {
			rel, _, _ = strings.Cut(rel, ".") // "12.5" -> "12"
		}
		if rel == "" {
			return query{}, false
		}
		name, version := p.SourceName, p.SourceVersion
		if name == "" {
			name = p.Name
		}
		if version == "" {
			version = p.Version
		}
		return query{string(p.Ecosystem) + ":" + rel, name, version}, true
	case inventory.Alpine:
		rel := alpineRelease(d.VersionID)
		if rel == "" {
			return query{}, false
		}
		name := p.SourceName
		if name == "" {
			name = p.Name
		}
		return query{"Alpine:" + rel, name, p.Version}, true
	case inventory.RPM:
		eco, ok := rpmEcosystem(d)
		if !ok {
			return query{}, false
		}
		v := p.Version
		if e := p.Extra["epoch"]; e != "" && e != "0" {
			v = e + ":" + v
		}
		return query{eco, p.Name, v}, true
	case inventory.Go:
		if p.Version == "" || p.Version == "(devel)" {
			return query{}, false
		}
		return query{"Go", p.Name, strings.TrimPrefix(p.Version, "v")}, true
	case inventory.PyPI, inventory.NPM, inventory.Maven, inventory.RubyGems,
		inventory.CratesIO, inventory.Packagist, inventory.NuGet:
		if p.Version == "" {
			return query{}, false
		}
		return query{string(p.Ecosystem), p.Name, p.Version}, true
	}
	return query{}, false
}

// alpineRelease turns "3.10.4" into "v3.10"; edge releases have no secdb.
func alpineRelease(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return "v" + parts[0] + "." + parts[1]
}

// rpmEcosystem names the OSV ecosystem of RPM distros that publish there.
func rpmEcosystem(d inventory.Distro) (string, bool) {
	major, _, _ := strings.Cut(d.VersionID, ".")
	switch d.ID {
	case "rocky":
		return "Rocky Linux:" + major, major != ""
	case "almalinux":
		return "AlmaLinux:" + major, major != ""
	case "opensuse-leap", "opensuse-tumbleweed", "opensuse":
		return "openSUSE", true
	case "sles":
		return "SUSE", true
	case "mageia":
		return "Mageia:" + d.VersionID, d.VersionID != ""
	}
	return "", false
}
