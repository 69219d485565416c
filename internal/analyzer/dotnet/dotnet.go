// Package dotnet registers the .NET deps.json analyzer (osv-scalibr's language/dotnet/depsjson extractor).
package dotnet

import (
	depsjson "github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/depsjson"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "dotnet"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.NuGet, depsjson.New))
}
