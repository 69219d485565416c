package scan

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/osrelease"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/layer"
	"github.com/picket-cdr/picket/internal/report"
)

// layerFile is a file's results in one layer.
type layerFile struct {
	layer   int
	path    string
	results []FileResult
}

// assemble merges per-layer results into the image's report, and returns
// what image analyzers need besides it.
func (s *Scanner) assemble(meta *image.Metadata, results []*LayerResult) (*report.Report, *analyzer.ImageInput) {
	tables := make([]*layer.Table, len(results))
	for i, r := range results {
		tables[i] = r.Table
	}
	fsys := layer.Merge(tables)

	// Files in the final filesystem, and files a later layer deleted or
	// replaced (still in their own layer).
	var visible, removed []layerFile
	for i, r := range results {
		for _, p := range sortedKeys(r.Files) {
			vf := layerFile{layer: i, path: p, results: r.Files[p]}
			if fsys.Visible(p, i) {
				visible = append(visible, vf)
			} else {
				removed = append(removed, vf)
			}
		}
	}

	distro := detectDistro(fsys, results)
	owners := ownership(fsys, visible)

	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "picket", Version: s.opts.Version},
		Target: report.Target{
			Name:     meta.Name,
			Kind:     "image",
			Source:   meta.Source,
			ImageID:  meta.ID,
			Digest:   meta.Digest,
			RepoTags: meta.RepoTags,
			Distro:   distro,
		},
		Packages: []*inventory.Package{},
		Findings: []*finding.Finding{},
	}
	if meta.Source == image.RootFS {
		rep.Target.Kind = "rootfs"
	}
	if meta.Config != nil {
		rep.Target.OS, rep.Target.Architecture = meta.Config.OS, meta.Config.Architecture
	}
	created := createdBy(meta)
	for i, r := range results {
		rep.Target.Layers = append(rep.Target.Layers, report.Layer{
			Index: i, DiffID: r.Table.DiffID, Size: r.Table.Bytes, Files: len(r.Table.Entries),
			CreatedBy: created[i],
		})
		rep.Stats.Bytes += r.Table.Bytes
		rep.Stats.FilesAnalyzed += r.Stats.Analyzed
		rep.Stats.SkippedTooLarge += r.Stats.TooLarge
		rep.Stats.SkippedUnsafe += r.Table.Unsafe
		rep.Stats.AnalyzerErrors += r.Stats.Errors
		rep.Findings = append(rep.Findings, layerFindings(meta, i, r)...)
	}
	rep.Stats.Files = fsys.Len()

	seen := map[string]bool{}
	for _, vf := range visible {
		for _, fr := range vf.results {
			for _, p := range fr.Result.Packages {
				pkg := *p
				pkg.Layer = introducedIn(results, vf.layer, vf.path, p)
				pkg.LayerDiffID = results[pkg.Layer].Table.DiffID
				finishPackage(&pkg, distro, fsys, owners)
				if pkg.Ecosystem == inventory.Binary && pkg.OwnedBy != "" {
					continue // the OS package that installed the binary already lists it
				}
				if seen[pkg.Key()] {
					continue
				}
				seen[pkg.Key()] = true
				rep.Packages = append(rep.Packages, &pkg)
			}
			for _, f := range fr.Result.Findings {
				ff := *f
				idx := vf.layer
				ff.Location.LayerIndex = &idx
				ff.Location.LayerDiffID = results[vf.layer].Table.DiffID
				ff.Location.Image = meta.Name
				rep.Findings = append(rep.Findings, &ff)
			}
		}
	}
	rep.Findings = append(rep.Findings, removedFindings(meta, results, removed)...)
	rep.Packages = dedupeHardlinked(rep.Packages)
	inventory.Sort(rep.Packages)
	in := &analyzer.ImageInput{
		Name: meta.Name, Config: meta.Config, RepoTags: meta.RepoTags, FS: fsys,
		Packages: rep.Packages, Distro: distro, Limits: s.opts.ImageLimits,
		Owner: func(p string) (string, bool) {
			if o, ok := owners[p]; ok {
				return o, true
			}
			if rp, err := fsys.Resolve(p); err == nil {
				o, ok := owners[rp]
				return o, ok
			}
			return "", false
		},
	}
	if meta.Source == image.RootFS {
		in.Config = nil // a root filesystem has no image configuration to lint
	}
	for _, r := range results {
		in.LayerDiffIDs = append(in.LayerDiffIDs, r.Table.DiffID)
	}
	for _, p := range rep.Packages {
		if p.IsOS() {
			in.HasPackageDB = true
			break
		}
	}
	return rep, in
}

// dedupeHardlinked keeps one of the packages identified from binaries that
// are hardlinks of one another (busybox's applets share one inode), the one
// whose file is named after the package when there is one.
func dedupeHardlinked(pkgs []*inventory.Package) []*inventory.Package {
	best := map[string]int{}
	out := pkgs[:0]
	for _, p := range pkgs {
		if p.Ecosystem != inventory.Binary {
			out = append(out, p)
			continue
		}
		k := fmt.Sprintf("%s\x00%s\x00%d", p.Name, p.Version, p.Layer)
		if i, ok := best[k]; ok {
			if path.Base(p.Path) == p.Name {
				out[i] = p
			}
			continue
		}
		best[k] = len(out)
		out = append(out, p)
	}
	return out
}

// introducedIn finds the lowest layer from which the package has been
// present at the same path without interruption: a dpkg status file is
// rewritten by every layer that installs packages, but a package belongs to
// the layer that first installed it.
func introducedIn(results []*LayerResult, top int, p string, pkg *inventory.Package) int {
	intro := top
	for j := top - 1; j >= 0; j-- {
		if !hasPackage(results[j].Files[p], pkg) {
			break
		}
		intro = j
	}
	return intro
}

func hasPackage(frs []FileResult, pkg *inventory.Package) bool {
	for _, fr := range frs {
		for _, q := range fr.Result.Packages {
			if q.Name == pkg.Name && q.Version == pkg.Version && q.Ecosystem == pkg.Ecosystem {
				return true
			}
		}
	}
	return false
}

// detectDistro picks the os-release that wins on the merged filesystem
// (following /etc/os-release -> ../usr/lib/os-release), then the
// single-line release files.
func detectDistro(fsys *layer.FS, results []*LayerResult) inventory.Distro {
	facts := func(p string) map[string]string {
		rp, err := fsys.Resolve(p)
		if err != nil {
			return nil
		}
		_, l, ok := fsys.Lookup(rp)
		if !ok {
			return nil
		}
		out := map[string]string{}
		for _, fr := range results[l].Files[rp] {
			if fr.Analyzer != osrelease.Name {
				continue
			}
			for k, v := range fr.Result.Facts {
				if key, ok := strings.CutPrefix(k, rp+":"); ok {
					out[key] = v
				}
			}
		}
		return out
	}
	var d inventory.Distro
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if f := facts(p); f["ID"] != "" {
			d = inventory.Distro{ID: strings.ToLower(f["ID"]), VersionID: f["VERSION_ID"], Codename: f["VERSION_CODENAME"], PrettyName: f["PRETTY_NAME"]}
			break
		}
	}
	// Alpine's os-release VERSION_ID carries the full release; Debian's
	// point release lives in /etc/debian_version.
	if v := facts("/etc/alpine-release")[osrelease.ContentKey]; v != "" {
		if d.ID == "" {
			d.ID = "alpine"
		}
		if d.VersionID == "" {
			d.VersionID = v
		}
	}
	if d.ID == "" {
		if v := facts("/etc/debian_version")[osrelease.ContentKey]; v != "" {
			d = inventory.Distro{ID: "debian", VersionID: v}
		}
	}
	if d.ID == "" {
		if v := facts("/etc/redhat-release")[osrelease.ContentKey]; v != "" {
			d = inventory.Distro{ID: "rhel", PrettyName: v}
		}
	}
	return d
}

// ownership maps resolved paths to the OS package that installed them.
func ownership(fsys *layer.FS, visible []layerFile) map[string]string {
	owners := map[string]string{}
	for _, vf := range visible {
		for _, fr := range vf.results {
			for _, o := range fr.Result.Owned {
				for _, p := range o.Paths {
					if rp, err := fsys.Resolve(p); err == nil {
						owners[rp] = o.Owner
					}
					owners[p] = o.Owner
				}
			}
		}
	}
	return owners
}

// finishPackage applies image-wide facts: the distro (ecosystem refinement
// and OS purls) and which OS package owns a language package's files.
func finishPackage(p *inventory.Package, d inventory.Distro, fsys *layer.FS, owners map[string]string) {
	if p.IsOS() {
		switch {
		case p.Ecosystem == inventory.Debian && d.ID == "ubuntu":
			p.Ecosystem = inventory.Ubuntu
		}
		p.PURL = osPURL(p, d)
		return
	}
	// Nested archives are reported as "outer.jar/inner.jar": the owner of
	// the outermost existing file owns them.
	for cand := p.Path; cand != "/" && cand != "."; cand = path.Dir(cand) {
		if _, _, ok := fsys.Lookup(cand); !ok {
			continue
		}
		rp, err := fsys.Resolve(cand)
		if err != nil {
			break
		}
		if o, ok := owners[rp]; ok {
			p.OwnedBy = o
		} else if o, ok := owners[cand]; ok {
			p.OwnedBy = o
		}
		break
	}
}

// osPURL builds the purl of a distro package the way Trivy and syft do:
// pkg:deb/debian/bash@5.2.15-2?arch=amd64&distro=debian-12.
func osPURL(p *inventory.Package, d inventory.Distro) string {
	typ, ns := "", d.ID
	switch p.Ecosystem {
	case inventory.Debian, inventory.Ubuntu:
		typ = packageurl.TypeDebian
		if ns == "" {
			ns = "debian"
		}
	case inventory.Alpine:
		typ = packageurl.TypeApk
		if ns == "" {
			ns = "alpine"
		}
	case inventory.RPM:
		typ = packageurl.TypeRPM
	}
	var q packageurl.Qualifiers
	if p.Arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
	}
	if d.ID != "" && d.VersionID != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: d.ID + "-" + d.VersionID})
	}
	if e := p.Extra["epoch"]; e != "" {
		q = append(q, packageurl.Qualifier{Key: "epoch", Value: e})
	}
	if p.SourceName != "" && p.SourceName != p.Name {
		up := p.SourceName
		if p.SourceVersion != "" && p.SourceVersion != p.Version {
			up += "@" + p.SourceVersion
		}
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: up})
	}
	return packageurl.NewPackageURL(typ, ns, p.Name, p.Version, q, "").ToString()
}

// layerFindings reports what a layer made the scanner skip, so that no
// result is silently partial.
func layerFindings(meta *image.Metadata, i int, r *LayerResult) []*finding.Finding {
	var out []*finding.Finding
	idx := i
	loc := finding.Location{Image: meta.Name, LayerIndex: &idx, LayerDiffID: r.Table.DiffID}
	if r.Table.Unsafe > 0 {
		out = append(out, &finding.Finding{
			Kind: finding.KindScan, Severity: finding.Medium, RuleID: "PKT-SCAN-UNSAFE-ENTRY",
			Title:  fmt.Sprintf("%d tar entries with unsafe names or types were skipped", r.Table.Unsafe),
			Target: meta.Name, Location: loc,
			Evidence: strings.Join(r.Table.UnsafeSamples, ", "),
			Description: "Layer tar entries whose names or link targets climb out of the root with '..', " +
				"or that are not filesystem objects, were ignored. Legitimate image builders never produce them.",
			Remediation: "Rebuild the image with a standard builder; treat the image as suspicious until explained.",
		})
	}
	if r.Stats.TooLarge > 0 {
		out = append(out, &finding.Finding{
			Kind: finding.KindScan, Severity: finding.Info, RuleID: "PKT-SCAN-FILE-TOO-LARGE",
			Title:  fmt.Sprintf("%d files above the size limit were not analysed", r.Stats.TooLarge),
			Target: meta.Name, Location: loc,
			Evidence:    strings.Join(r.Stats.TooLargeSample, ", "),
			Remediation: "Raise --max-file-size to analyse them.",
		})
	}
	if r.Stats.Errors > 0 {
		out = append(out, &finding.Finding{
			Kind: finding.KindScan, Severity: finding.Low, RuleID: "PKT-SCAN-ANALYZER-ERROR",
			Title:  fmt.Sprintf("%d files could not be parsed", r.Stats.Errors),
			Target: meta.Name, Location: loc,
			Evidence: strings.Join(r.Stats.ErrorSamples, "; "),
			Description: "An analyzer failed on these files (corrupt or unexpected content); " +
				"packages they describe may be missing from the inventory.",
		})
	}
	return out
}

// analyzeImage runs the image analyzers on the merged image.
func (s *Scanner) analyzeImage(ctx context.Context, rep *report.Report, in *analyzer.ImageInput) error {
	for _, a := range s.opts.ImageAnalyzers {
		fs, err := a.AnalyzeImage(ctx, in)
		if err != nil {
			return fmt.Errorf("scan: %s: %w", a.Name(), err)
		}
		for _, f := range fs {
			f.Location.Image = rep.Target.Name
			if f.Target == "" {
				f.Target = rep.Target.Name
			}
			if f.Location.Path != "" && f.Location.LayerIndex == nil {
				if _, l, ok := in.FS.Lookup(f.Location.Path); ok {
					f.Location.LayerIndex = intPtr(l)
					f.Location.LayerDiffID = in.LayerDiffIDs[l]
				}
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	return nil
}

func intPtr(i int) *int { return &i }

// removedFindings reports secrets in files that a later layer deleted or
// replaced. They are not in the final file system, but they are still in
// their layer: anyone who pulls the image can read them, so a secret
// "removed" by a later RUN rm is still leaked. (Malware in a removed file
// cannot run from the image and is not reported: build steps often fetch,
// use and delete tools.)
func removedFindings(meta *image.Metadata, results []*LayerResult, removed []layerFile) []*finding.Finding {
	var out []*finding.Finding
	for _, rf := range removed {
		i := rf.layer
		for _, fr := range rf.results {
			for _, f := range fr.Result.Findings {
				if f.Kind != finding.KindSecret {
					continue
				}
				ff := *f
				idx := i
				ff.Location.LayerIndex = &idx
				ff.Location.LayerDiffID = results[i].Table.DiffID
				ff.Location.Image = meta.Name
				ff.Attributes = make(map[string]string, len(f.Attributes)+1)
				for k, v := range f.Attributes {
					ff.Attributes[k] = v
				}
				ff.Attributes["removedInLaterLayer"] = "true"
				ff.Title += " (file removed by a later layer)"
				ff.Description = strings.TrimSpace(ff.Description + fmt.Sprintf(
					" The file was deleted or replaced by a later layer, but layer %d still holds it: anyone who can pull the image can read it.", i))
				ff.Remediation = strings.TrimSpace(ff.Remediation + " Deleting a file in a later layer does not remove it from the image: rebuild so that it never enters a layer (multi-stage builds, build secrets), and revoke the secret.")
				out = append(out, &ff)
			}
		}
	}
	return out
}
