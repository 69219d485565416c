package analyzer

import (
	"context"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/layer"
)

// ImageInput is what an image analyzer sees: the image's configuration and
// history, its merged filesystem (metadata only, no contents), the package
// inventory and which OS package owns which file.
type ImageInput struct {
	Name     string
	Config   *v1.ConfigFile // nil for root filesystems
	RepoTags []string
	FS       *layer.FS
	// LayerDiffIDs names the layers in order.
	LayerDiffIDs []string
	Packages     []*inventory.Package
	Distro       inventory.Distro
	// Owner returns the OS package that installed path ("deb:bash"), after
	// resolving symlinks; ok is false for files no package database lists.
	Owner func(path string) (owner string, ok bool)
	// HasPackageDB reports whether an OS package database was found, so
	// that "not owned by any package" means something.
	HasPackageDB bool
	// Limits are the user's thresholds for image-level checks; zero values
	// mean each analyzer's defaults.
	Limits Limits
}

// Limits are thresholds for image-level checks.
type Limits struct {
	MaxImageBytes int64 // total size of the final filesystem
	MaxFiles      int   // entries in the final filesystem (inode exhaustion)
}

// ImageAnalyzer looks at a whole image once its layers are merged. Image
// analyzers are cheap (metadata only) and are not cached.
type ImageAnalyzer interface {
	Name() string
	AnalyzeImage(ctx context.Context, in *ImageInput) ([]*finding.Finding, error)
}

var imageRegistry = map[string]ImageAnalyzer{}

// RegisterImage adds an image analyzer; duplicate names panic.
func RegisterImage(a ImageAnalyzer) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := imageRegistry[a.Name()]; dup {
		panic(fmt.Sprintf("analyzer: image analyzer %q registered twice", a.Name()))
	}
	imageRegistry[a.Name()] = a
}

// AllImage returns the registered image analyzers sorted by name.
func AllImage() []ImageAnalyzer {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]ImageAnalyzer, 0, len(imageRegistry))
	for _, a := range imageRegistry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
