// Package gobinary registers the Go binary build information analyzer
// (osv-scalibr's language/golang/gobinary extractor).
package gobinary

import (
	"path"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	gobinaryx "github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/package-url/packageurl-go"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "gobinary"

func init() {
	analyzer.Register(extract.MustNew(Name, 2, inventory.Go, gobinaryx.New, extract.WithConverter(convert)))
}

// convert names the toolchain "stdlib", as OSV and the Go vulnerability
// database do (scalibr calls it "go"), and writes purls the way the purl
// spec and other tools do: module versions with their "v", no version for
// a main module built from a work tree ("(devel)").
func convert(in *extractor.Package, out *inventory.Package) {
	if in.Name == "go" {
		out.Name = "stdlib"
	}
	ns, name := path.Split(out.Name)
	ns = strings.TrimSuffix(ns, "/")
	v := out.Version
	switch {
	case v == "(devel)" || v == "":
		v = ""
	case !strings.HasPrefix(v, "v"):
		v = "v" + v
	}
	out.PURL = packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, v, nil, "").ToString()
}
