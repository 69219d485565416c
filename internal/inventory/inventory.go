// Package inventory is Picket's own model of the software found in an image:
// packages with their ecosystem, purl, source package, location and layer.
// Extractor libraries (osv-scalibr) are converted into this model at the edge
// so their API changes stop there.
package inventory

import (
	"sort"
	"strings"
)

// Ecosystem names follow OSV's ecosystem names where one exists.
type Ecosystem string

// Ecosystems Picket inventories.
const (
	Debian    Ecosystem = "Debian"
	Ubuntu    Ecosystem = "Ubuntu"
	Alpine    Ecosystem = "Alpine"
	RPM       Ecosystem = "RPM" // refined to the distro (e.g. "Red Hat") via Distro
	Go        Ecosystem = "Go"
	PyPI      Ecosystem = "PyPI"
	NPM       Ecosystem = "npm"
	Maven     Ecosystem = "Maven"
	RubyGems  Ecosystem = "RubyGems"
	CratesIO  Ecosystem = "crates.io"
	Packagist Ecosystem = "Packagist"
	NuGet     Ecosystem = "NuGet"
	// Binary is software identified from a binary itself (a static busybox)
	// rather than a package database; it has no OSV ecosystem.
	Binary Ecosystem = "binary"
)

// Distro identifies the operating system of an image, from /etc/os-release
// and friends.
type Distro struct {
	ID         string `json:"id"`                   // "debian", "alpine", "ubuntu", "rhel"
	VersionID  string `json:"versionId,omitempty"`  // "12", "3.10.4"
	Codename   string `json:"codename,omitempty"`   // "bookworm"
	PrettyName string `json:"prettyName,omitempty"` // "Debian GNU/Linux 12 (bookworm)"
}

// Empty reports whether no distro was identified.
func (d Distro) Empty() bool { return d.ID == "" }

// Package is one installed piece of software.
type Package struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Ecosystem Ecosystem `json:"ecosystem"`
	PURL      string    `json:"purl"`
	// SourceName and SourceVersion name the distro source package (dpkg
	// "Source:", apk "origin", rpm source rpm) that vulnerability feeds use.
	SourceName    string   `json:"sourceName,omitempty"`
	SourceVersion string   `json:"sourceVersion,omitempty"`
	Arch          string   `json:"arch,omitempty"`
	Licenses      []string `json:"licenses,omitempty"`
	// Path is the file the package was read from (a package database, a
	// METADATA file, a jar, a binary), absolute inside the image.
	Path string `json:"path"`
	// Layer is the index of the layer that introduced the package; LayerDiffID
	// names it.
	Layer       int    `json:"layer"`
	LayerDiffID string `json:"layerDiffId,omitempty"`
	// OwnedBy names the OS package (e.g. "deb:python3-requests") whose files
	// include Path; empty for software not installed by the OS package manager.
	OwnedBy string `json:"ownedBy,omitempty"`
	// Analyzer that found the package.
	Analyzer string `json:"analyzer"`
	// Extra, ecosystem-specific facts (Go toolchain version, Maven group ...).
	Extra map[string]string `json:"extra,omitempty"`
}

// Key identifies a package within one image for de-duplication.
func (p *Package) Key() string {
	return string(p.Ecosystem) + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path
}

// IsOS reports whether the package comes from the OS package manager.
func (p *Package) IsOS() bool {
	switch p.Ecosystem {
	case Debian, Ubuntu, Alpine, RPM:
		return true
	}
	return false
}

// Inventory is what an inventory run produced for one image.
type Inventory interface {
	// Packages returns the packages sorted by ecosystem, name, version, path.
	Packages() []*Package
	// Distro returns the detected operating system, possibly empty.
	Distro() Distro
}

// List is the plain Inventory implementation.
type List struct {
	Pkgs []*Package `json:"packages"`
	OS   Distro     `json:"distro"`
}

// Packages implements Inventory.
func (l *List) Packages() []*Package { return l.Pkgs }

// Distro implements Inventory.
func (l *List) Distro() Distro { return l.OS }

// Sort orders packages deterministically.
func Sort(pkgs []*Package) {
	sort.SliceStable(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.Name != b.Name {
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
}
