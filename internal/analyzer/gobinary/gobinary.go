// Package gobinary registers the Go binary build information analyzer (osv-scalibr's language/golang/gobinary extractor).
package gobinary

import (
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
	analyzer.Register(extract.MustNew(Name, 1, inventory.Go, gobinaryx.New, extract.WithConverter(convert)))
}

func convert(in *extractor.Package, out *inventory.Package) {
	// scalibr names the toolchain "go"; OSV and the Go vulnerability
	// database call it "stdlib".
	if in.Name == "go" {
		out.Name = "stdlib"
		out.PURL = packageurl.NewPackageURL(packageurl.TypeGolang, "", "stdlib", out.Version, nil, "").ToString()
	}
}
