// Package elf registers the analyzer that looks for malicious and
// suspicious ELF binaries: packed executables (UPX and generic packers),
// crypto-miners, LD_PRELOAD and ptrace rootkits, reverse shells and
// raw-socket backdoors, and binaries kept where packages never put them
// (/tmp, /dev/shm, hidden directories).
//
// The analyzer reads its own copy of the ELF and program headers first and
// checks every table against the file size, so that debug/elf (used for
// section names and dynamic symbols, and only on sane tables) never sees
// absurd counts, compressed name tables or sections beyond the end of the
// file. The whole file is then read once, in chunks, through a
// case-insensitive multi-pattern matcher and byte histograms: memory stays
// at a few hundred KiB whatever the size, time linear in it.
//
// Rules, scores and severities (each category is scored on its own and
// gives at most one finding; a score below the lowest threshold gives none):
//
//	PKT-ELF-PACKED (T1027.002)      HIGH >= 6, MEDIUM >= 4
//	  UPX! magic in the first or last 4 KiB +5, UPX $Info banner +5,
//	  UPX $Id banner +3, UPX0/UPX1 section names +5; no section headers +2,
//	  broken section headers +2; executable segment or section (>= 4 KiB)
//	  with entropy >= 7.2 +3 or >= 7.6 +4; writable and executable
//	  segment +1; executable segment whose memory size exceeds twice its
//	  file size by 64 KiB +1.
//	PKT-ELF-MINER (T1496)           CRITICAL >= 9, HIGH >= 6, MEDIUM >= 4
//	  stratum URLs, stratum methods, XMRig and its options, other miners,
//	  public pools +3 each; cryptonight, randomx, hashrate +1 each. One
//	  name alone (a scanner's signature list) is not enough.
//	PKT-ELF-ROOTKIT (T1014, T1574.006) HIGH >= 6, MEDIUM >= 4
//	  shared object defining readdir* +3, defining other libc functions
//	  rootkits hook +1, plus +1 for importing dlsym when it hooks; the string
//	  /etc/ld.so.preload +2, LD_PRELOAD +1; known rootkit names +3; ptrace
//	  imported together with a TracerPid check +2. The C library, the
//	  dynamic loader and sanitizer runtimes are exempt; general interposers
//	  (tracers, profilers, sandboxes that also define read, write, close,
//	  ...) get no weight for their hooks.
//	PKT-ELF-BACKDOOR (T1059.004, T1095) MEDIUM >= 4
//	  reverse-shell idioms (/dev/tcp/, bash -i, 0>&1, nc -e, ...) +2 each,
//	  history wiping +2/+3, kernel-thread name masquerading +2, BPFDoor
//	  raw-socket backdoor markers +4 each.
//	PKT-ELF-ODD-LOCATION (T1036.005, T1564.001)
//	  HIGH in /dev/shm or /run/shm, in a hidden directory under a temporary
//	  directory, or under a name made of dots and spaces; MEDIUM in /tmp,
//	  /var/tmp or under another hidden name (toolchain and package-manager
//	  directories such as .cargo, .venv, .pnpm, .build-id are trusted);
//	  raised to HIGH when another finding of MEDIUM or above concerns the
//	  same file.
//	PKT-ELF-STRIPPED-STATIC         INFO
//	  a statically linked executable without a symbol table that is not a
//	  Go program (most Go programs are static and many are stripped).
//
// Strings that sit in the text of detection rules (YARA "strings:" or
// "condition:" within 1 KiB) do not count: scanners, Picket
// included, carry the very strings this analyzer looks for.
//
// Files that start with the ELF magic but whose ELF or program headers are
// broken are skipped with an error, which the scan counts.
package elf

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "elf"

// maxScan bounds the bytes of a file streamed through the string matcher
// and the entropy counters: miners, rootkits and packed droppers are far
// smaller, and huge binaries (CUDA, LLVM) would cost time for nothing. The
// headers of bigger files are still read in full; their findings say how
// much was scanned. Non-executable files in odd places above it are not
// asked for.
const maxScan = 64 << 20

// minSize is the smallest ELF header.
const minSize = 52

// chunk is the read size of the streaming pass.
const chunk = 256 << 10

// maxTable bounds the dynamic symbol and string tables read.
const maxTable = 32 << 20

func init() { analyzer.Register(elfAnalyzer{}) }

type elfAnalyzer struct{}

func (elfAnalyzer) Name() string { return Name }
func (elfAnalyzer) Version() int { return 1 }

// Required wants regular files that are executable or named like shared
// objects (which the walker reads for the package analyzers anyway, up to
// its own size limit), and files of up to maxScan bytes kept in unusual
// places.
func (elfAnalyzer) Required(p string, info fs.FileInfo) bool {
	m := info.Mode()
	if !m.IsRegular() || info.Size() < minSize {
		return false
	}
	if m&0o111 != 0 || isLibName(path.Base(p)) {
		return true
	}
	_, odd := oddPlace(p)
	return odd && info.Size() <= maxScan
}

// facts is what the analysis learned about one binary.
type facts struct {
	path     string
	size     int64 // bytes scanned
	fileSize int64
	hdr      *header

	sections    []*elf.Section
	sectionsWhy string // why section headers could not be read
	hasSymtab   bool
	soname      string
	needed      int
	defined     map[string]bool // defined dynamic functions among hookedSymbols
	definedIO   int             // defined dynamic functions among ioSymbols
	imports     map[string]bool // undefined dynamic symbols of interest
	goBinary    bool

	hits       map[int32]*hit
	entropy    float64 // whole file
	execEnt    float64 // highest entropy of an executable segment or section
	execEntLoc string
}

// hit is where an indicator was seen: the first and the last start offsets
// and how often.
type hit struct {
	first, last int64
	count       int
}

// ELFLiterals implements analyzer.ELFLiteralSearcher: the indicator
// catalogue, searched in the first maxScan bytes.
func (elfAnalyzer) ELFLiterals() ([]analyzer.Literal, int64) { return literals(), maxScan }

// Analyze reads the headers, the section table and the dynamic symbols when
// sane, then streams the file once.
func (elfAnalyzer) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	size := in.Content.Size()
	if size < minSize {
		return &analyzer.Result{}, nil
	}
	var magic [4]byte
	if _, err := in.Content.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("elf: %s: %w", in.Path, err)
	}
	if string(magic[:]) != elf.ELFMAG {
		return &analyzer.Result{}, nil
	}
	h, err := readHeader(in.Content, size)
	if err != nil {
		return nil, fmt.Errorf("elf: %s: %w", in.Path, err)
	}
	if h.typ != elf.ET_EXEC && h.typ != elf.ET_DYN {
		return &analyzer.Result{}, nil
	}
	f := &facts{path: in.Path, size: min(size, maxScan), fileSize: size, hdr: h}
	if h.sectionsOK {
		f.readSections(in.Content, size)
	} else if !h.noSections {
		f.sectionsWhy = h.sectionsWhy
	}
	data, _ := analyzer.Bytes(in.Content)
	if err := f.stream(ctx, in.Content, data, in.Literals); err != nil {
		return nil, fmt.Errorf("elf: %s: %w", in.Path, err)
	}
	f.dropRuleText(in.Content)
	return &analyzer.Result{Findings: f.findings(in.Content)}, nil
}

// safeSection reports whether reading s costs at most its size in the file.
func safeSection(s *elf.Section, size int64) bool {
	return s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_COMPRESSED == 0 &&
		s.Offset <= uint64(size) && s.FileSize <= uint64(size)-s.Offset && s.FileSize <= maxTable
}

// readSections uses debug/elf for section names and dynamic symbols. It
// recovers from panics: a hostile file costs the symbols, not the scan.
func (f *facts) readSections(r io.ReaderAt, size int64) {
	defer func() {
		if x := recover(); x != nil {
			f.sectionsWhy = fmt.Sprintf("debug/elf: %v", x)
		}
	}()
	ef, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		f.sectionsWhy = err.Error()
		return
	}
	f.sections = ef.Sections
	for _, s := range ef.Sections {
		switch {
		case s.Type == elf.SHT_SYMTAB:
			f.hasSymtab = true
		case s.Name == ".go.buildinfo":
			f.goBinary = true
		}
	}
	// Everything DynamicSymbols and DynString read must be a plain,
	// bounded section of the file.
	for _, t := range []elf.SectionType{elf.SHT_DYNSYM, elf.SHT_DYNAMIC, elf.SHT_GNU_VERSYM, elf.SHT_GNU_VERDEF, elf.SHT_GNU_VERNEED} {
		s := ef.SectionByType(t)
		if s == nil {
			continue
		}
		if !safeSection(s, size) {
			return
		}
		if t == elf.SHT_DYNSYM || t == elf.SHT_DYNAMIC {
			if int(s.Link) <= 0 || int(s.Link) >= len(ef.Sections) || !safeSection(ef.Sections[s.Link], size) {
				return
			}
		}
	}
	if ef.SectionByType(elf.SHT_DYNAMIC) != nil {
		if v, err := ef.DynString(elf.DT_SONAME); err == nil && len(v) > 0 {
			f.soname = v[0]
		}
		if v, err := ef.DynString(elf.DT_NEEDED); err == nil {
			f.needed = len(v)
		}
	}
	if ef.SectionByType(elf.SHT_DYNSYM) == nil {
		return
	}
	f.defined, f.imports = map[string]bool{}, map[string]bool{}
	f.dynamicSymbols(ef)
}

// dynamicSymbols walks the dynamic symbol table for the names of interest
// (debug/elf's DynamicSymbols would allocate every name and resolve every
// version, which on a large library costs more than the rest of the
// analysis). The table and its string table were checked by readSections.
func (f *facts) dynamicSymbols(ef *elf.File) {
	symSec := ef.SectionByType(elf.SHT_DYNSYM)
	syms, err := symSec.Data()
	if err != nil {
		return
	}
	strs, err := ef.Sections[symSec.Link].Data()
	if err != nil {
		return
	}
	entSize := 16
	if ef.Class == elf.ELFCLASS64 {
		entSize = 24
	}
	bo := ef.ByteOrder
	for off := entSize; off+entSize <= len(syms); off += entSize { // entry 0 is the null symbol
		e := syms[off : off+entSize]
		var nameOff uint32
		var info byte
		var shndx uint16
		if entSize == 24 {
			nameOff, info, shndx = bo.Uint32(e[0:4]), e[4], bo.Uint16(e[6:8])
		} else {
			nameOff, info, shndx = bo.Uint32(e[0:4]), e[12], bo.Uint16(e[14:16])
		}
		if int64(nameOff) >= int64(len(strs)) {
			continue
		}
		name := strs[nameOff:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if elf.SectionIndex(shndx) == elf.SHN_UNDEF {
			switch string(name) {
			case "dlsym", "dlvsym", "ptrace":
				f.imports[string(name)] = true
			}
			continue
		}
		bind, typ := elf.ST_BIND(info), elf.ST_TYPE(info)
		if (bind == elf.STB_GLOBAL || bind == elf.STB_WEAK) && (typ == elf.STT_FUNC || typ == elf.STT_GNU_IFUNC) {
			if _, ok := hookedSymbols[string(name)]; ok {
				f.defined[string(name)] = true
			}
			if ioSymbols[string(name)] {
				f.definedIO++
			}
		}
	}
}

// span is a byte range of the file whose entropy is measured.
type span struct {
	off, end int64
	name     string
	hist     [256]int64
}

// stream reads the file once: patterns, whole-file entropy and the entropy
// of executable segments and sections. data, when not nil, is the whole
// content in memory, used in place. found, when not nil, is where the
// scanner found the indicators (ELFLiterals) in the same pass as other
// analyzers' literals: stream then only counts bytes.
func (f *facts) stream(ctx context.Context, r io.ReaderAt, data []byte, found []analyzer.LiteralHit) error {
	var spans []*span
	add := func(off, n uint64, name string) {
		if n < 4096 || off >= uint64(f.size) {
			return
		}
		end := min(off+n, uint64(f.size))
		if end-off < 4096 {
			return
		}
		spans = append(spans, &span{off: int64(off), end: int64(end), name: name})
	}
	for i, p := range f.hdr.progs {
		if p.typ == elf.PT_LOAD && p.flags&elf.PF_X != 0 {
			add(p.off, p.filesz, fmt.Sprintf("segment %d", i))
		}
	}
	for _, s := range f.sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type != elf.SHT_NOBITS && len(spans) < 64 {
			add(s.Offset, s.FileSize, "section "+strconv.Quote(s.Name))
		}
	}

	m := strMatcher()
	hits := map[int32]*hit{}
	var sc *ahocorasick.Scanner
	if len(found) == len(indicators) {
		for id, h := range found {
			if h.Count > 0 {
				hits[int32(id)] = &hit{first: h.First, last: h.Last, count: h.Count}
			}
		}
	} else {
		sc = m.NewScanner()
	}
	record := func(id int, off int64) bool {
		if h := hits[int32(id)]; h != nil {
			h.last = off // matches come in order
			h.count++
		} else {
			hits[int32(id)] = &hit{first: off, last: off, count: 1}
		}
		return true
	}
	if int64(len(data)) < f.size {
		data = nil
	}
	var buf []byte
	if data == nil {
		buf = make([]byte, chunk)
	}
	var all [256]int64
	for off := int64(0); off < f.size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		var cur []byte // this chunk's bytes
		if data != nil {
			cur = data[off : off+min(chunk, f.size-off)]
		} else {
			n, err := r.ReadAt(buf[:min(chunk, f.size-off)], off)
			if n == 0 && err != nil {
				if err == io.EOF {
					break
				}
				return err
			}
			cur = buf[:n]
		}
		if sc != nil {
			sc.Feed(cur, off, record)
		}
		n := int64(len(cur))
		var ch [256]int64
		countBytes(&ch, cur)
		addHist(&all, &ch)
		for _, s := range spans {
			lo, hi := max(s.off, off), min(s.end, off+n)
			switch {
			case lo >= hi:
			case lo == off && hi == off+n:
				addHist(&s.hist, &ch)
			default:
				countBytes(&s.hist, cur[lo-off:hi-off])
			}
		}
		off += n
	}
	f.hits = hits
	f.entropy = entropy(&all)
	for _, s := range spans {
		if e := entropy(&s.hist); e > f.execEnt {
			f.execEnt, f.execEntLoc = e, s.name
		}
	}
	if f.hit(labelGoBuild) != nil {
		f.goBinary = true
	}
	return nil
}

// countBytes adds the byte histogram of data to h. Four interleaved tables
// keep consecutive equal bytes from stalling on the same counter.
func countBytes(h *[256]int64, data []byte) {
	var t [4][256]uint32
	i := 0
	for ; i+4 <= len(data); i += 4 {
		t[0][data[i]]++
		t[1][data[i+1]]++
		t[2][data[i+2]]++
		t[3][data[i+3]]++
	}
	for ; i < len(data); i++ {
		t[0][data[i]]++
	}
	for b := range h {
		h[b] += int64(t[0][b]) + int64(t[1][b]) + int64(t[2][b]) + int64(t[3][b])
	}
}

// addHist adds histogram src to dst.
func addHist(dst, src *[256]int64) {
	for b := range dst {
		dst[b] += src[b]
	}
}

// ruleWords mark detection rules (YARA) around a string: security tools,
// Picket included, carry the very strings this analyzer looks for.
var ruleWords = [][]byte{[]byte("condition:"), []byte("strings:")}

// dropRuleText forgets indicators whose first and last occurrences sit in
// the text of detection rules.
func (f *facts) dropRuleText(r io.ReaderAt) {
	inRules := func(off int64) bool {
		const width = 1 << 10
		lo := max(off-width, 0)
		buf := make([]byte, min(f.size, off+width)-lo)
		n, _ := r.ReadAt(buf, lo)
		for _, w := range ruleWords {
			if bytes.Contains(buf[:n], w) {
				return true
			}
		}
		return false
	}
	for id, h := range f.hits {
		if indicators[id].cat == catMeta || indicators[id].label == labelUPXMagic {
			continue
		}
		if inRules(h.first) && (h.last == h.first || inRules(h.last)) {
			delete(f.hits, id)
		}
	}
}

// entropy is the Shannon entropy of a histogram in bits per byte.
func entropy(h *[256]int64) float64 {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	e := 0.0
	for _, c := range h {
		if c > 0 {
			p := float64(c) / float64(n)
			e -= p * math.Log2(p)
		}
	}
	return e
}

// hit returns where the indicator with the label matched, or nil.
func (f *facts) hit(label string) *hit {
	for id, h := range f.hits {
		if indicators[id].label == label {
			return h
		}
	}
	return nil
}

// signal is one reason a category scored.
type signal struct {
	what   string
	weight int
	off    int64 // where a string indicator matched; -1 otherwise
}

type verdict struct {
	score   int
	signals []signal
}

func (v *verdict) add(what string, w int, off int64) {
	v.score += w
	v.signals = append(v.signals, signal{what, w, off})
}

// strings adds the category's string indicators.
func (f *facts) addStrings(v *verdict, c category, skip ...string) {
	ids := make([]int, 0, len(f.hits))
	for id := range f.hits {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
outer:
	for _, id := range ids {
		ind := indicators[id]
		if ind.cat != c || ind.weight == 0 {
			continue
		}
		for _, s := range skip {
			if ind.label == s {
				continue outer
			}
		}
		v.add(strconv.Quote(ind.label), ind.weight, f.hits[int32(id)].first)
	}
}

func (f *facts) packer() verdict {
	var v verdict
	if h := f.hit(labelUPXMagic); h != nil && (h.first < 4096 || h.last >= f.size-4096) {
		off := h.first
		if off >= 4096 {
			off = h.last
		}
		v.add("UPX! magic", 5, off)
	}
	f.addStrings(&v, catPacker)
	for _, s := range f.sections {
		if s.Name == "UPX0" || s.Name == "UPX1" {
			v.add("section "+s.Name, 5, -1)
			break
		}
	}
	switch {
	case f.hdr.noSections:
		v.add("no section headers", 2, -1)
	case f.sectionsWhy != "":
		v.add("broken section headers ("+f.sectionsWhy+")", 2, -1)
	}
	switch {
	case f.execEnt >= 7.6:
		v.add(fmt.Sprintf("entropy %.2f of %s", f.execEnt, f.execEntLoc), 4, -1)
	case f.execEnt >= 7.2:
		v.add(fmt.Sprintf("entropy %.2f of %s", f.execEnt, f.execEntLoc), 3, -1)
	}
	rwx, grows := false, false
	for _, p := range f.hdr.progs {
		if p.typ != elf.PT_LOAD || p.flags&elf.PF_X == 0 {
			continue
		}
		if p.flags&elf.PF_W != 0 {
			rwx = true
		}
		if p.memsz > 2*p.filesz+64<<10 {
			grows = true
		}
	}
	if rwx {
		v.add("writable and executable segment", 1, -1)
	}
	if grows {
		v.add("executable segment unpacked into memory (memory size far above file size)", 1, -1)
	}
	return v
}

func (f *facts) miner() verdict {
	var v verdict
	f.addStrings(&v, catMiner)
	return v
}

func (f *facts) rootkit() verdict {
	var v verdict
	if systemLib(f.path, f.soname) || f.sanitizer() {
		return v
	}
	dir, other := []string{}, []string{}
	if f.definedIO >= minIOSymbols {
		v.signals = append(v.signals, signal{what: "general interposer (defines read, write, ...): hooks not counted", off: -1})
		f.addStrings(&v, catRootkit, labelTracer)
		return v
	}
	for name := range f.defined {
		if hookedSymbols[name] >= 3 {
			dir = append(dir, name)
		} else {
			other = append(other, name)
		}
	}
	sort.Strings(dir)
	sort.Strings(other)
	if len(dir) > 0 {
		v.add("defines "+strings.Join(dir, ", ")+" (hides directory entries)", 3, -1)
	}
	if len(other) > 0 {
		v.add("defines "+strings.Join(other, ", ")+" (libc functions rootkits hook)", 1, -1)
	}
	if len(dir)+len(other) > 0 && (f.imports["dlsym"] || f.imports["dlvsym"]) {
		v.add("imports dlsym (calls the hooked originals)", 1, -1)
	}
	f.addStrings(&v, catRootkit, labelTracer)
	if h := f.hit(labelTracer); h != nil && f.imports["ptrace"] {
		v.add("imports ptrace and checks for a tracer (anti-debugging)", 2, h.first)
	}
	return v
}

// sanitizer reports whether the file is a sanitizer runtime, which
// intercepts libc the way rootkits do.
func (f *facts) sanitizer() bool {
	base := path.Base(f.path)
	for _, p := range []string{"libasan", "libtsan", "liblsan", "libubsan", "libhwasan", "libmsan", "libclang_rt."} {
		if strings.HasPrefix(base, p) || strings.HasPrefix(f.soname, p) {
			return true
		}
	}
	return false
}

func (f *facts) backdoor() verdict {
	var v verdict
	f.addStrings(&v, catBackdoor)
	return v
}

// static reports whether the file is an executable that needs no dynamic
// loader.
func (f *facts) static() bool {
	if f.hdr.interp() {
		return false
	}
	switch f.hdr.typ {
	case elf.ET_EXEC:
		return true
	case elf.ET_DYN: // static-pie: an entry point and no libraries
		return f.hdr.entry != 0 && f.needed == 0 && f.soname == "" && !isLibName(path.Base(f.path))
	}
	return false
}

func (f *facts) stripped() bool {
	return f.sectionsWhy == "" && !f.hasSymtab
}

// rule describes one finding kind.
type rule struct {
	id, title, desc, remedy string
	tags                    []string
	levels                  []level
}

type level struct {
	min int
	sev finding.Severity
}

func (r rule) severity(score int) finding.Severity {
	for _, l := range r.levels {
		if score >= l.min {
			return l.sev
		}
	}
	return finding.Unknown
}

var (
	rulePacked = rule{
		id: "PKT-ELF-PACKED", title: "Packed ELF binary",
		desc: "The executable is compressed or encrypted by a runtime packer: its real code only appears in memory, " +
			"which hides it from scanners. Malware is routinely packed (UPX or custom packers); legitimate software rarely is.",
		remedy: "Find out where the binary comes from; unpack it (upx -d) or rebuild it from source and scan again.",
		tags:   []string{"T1027.002"},
		levels: []level{{6, finding.High}, {4, finding.Medium}},
	}
	ruleMiner = rule{
		id: "PKT-ELF-MINER", title: "Crypto-currency miner",
		desc: "The binary carries mining-pool protocol strings, miner options or pool addresses: it mines crypto-currency " +
			"with the host's CPU, the most common payload of compromised containers.",
		remedy: "Remove the binary and rebuild the image from trusted sources; find how it got into the image.",
		tags:   []string{"T1496"},
		levels: []level{{9, finding.Critical}, {6, finding.High}, {4, finding.Medium}},
	}
	ruleRootkit = rule{
		id: "PKT-ELF-ROOTKIT", title: "User-land rootkit",
		desc: "The binary hooks libc functions the way preloaded rootkits do (hiding files, processes and connections), " +
			"manipulates the dynamic loader's preload file, names a known rootkit, or checks for debuggers through ptrace.",
		remedy: "Check the dynamic loader's preload file and preload variables in the image; remove the library and rebuild from trusted sources.",
		tags:   []string{"T1014", "T1574.006"},
		levels: []level{{6, finding.High}, {4, finding.Medium}},
	}
	ruleBackdoor = rule{
		id: "PKT-ELF-BACKDOOR", title: "Reverse shell or backdoor strings",
		desc: "The binary embeds reverse-shell commands, wipes shell history, masquerades as a kernel thread or carries " +
			"markers of raw-socket backdoors such as BPFDoor.",
		remedy: "Identify the binary's origin; remove it unless it is a known administration tool.",
		tags:   []string{"T1059.004", "T1095"},
		levels: []level{{4, finding.Medium}},
	}
)

// findings turns the facts into findings.
func (f *facts) findings(r io.ReaderAt) []*finding.Finding {
	var out []*finding.Finding
	for _, c := range []struct {
		r rule
		v verdict
	}{
		{rulePacked, f.packer()},
		{ruleMiner, f.miner()},
		{ruleRootkit, f.rootkit()},
		{ruleBackdoor, f.backdoor()},
	} {
		sev := c.r.severity(c.v.score)
		if sev == finding.Unknown {
			continue
		}
		out = append(out, f.finding(r, c.r, sev, c.v))
	}
	if pl, ok := oddPlace(f.path); ok {
		sev := pl.sev
		if len(out) > 0 {
			sev = finding.High
		}
		fd := f.base(sev, "PKT-ELF-ODD-LOCATION", "ELF binary "+pl.reason,
			"Packages install programs under /usr, /opt and similar directories. Executables in temporary, "+
				"shared-memory or hidden directories are typical of droppers, miners and backdoors.",
			"Find out what put the binary there; remove it if it is not needed, or move it to a proper location.",
			append([]string{"elf"}, pl.tags...))
		fd.Evidence = f.path
		out = append(out, fd)
	}
	if len(out) == 0 && f.static() && f.stripped() && !f.goBinary {
		fd := f.base(finding.Info, "PKT-ELF-STRIPPED-STATIC", "Statically linked executable without symbols",
			"Static, stripped binaries carry no library or symbol information, which hampers analysis. Many legitimate "+
				"tools are built this way; on its own this is informational.",
			"Prefer binaries from packages, or keep build provenance for static ones.", []string{"elf"})
		fd.Evidence = "no PT_INTERP, no .symtab"
		out = append(out, fd)
	}
	return out
}

// base fills the fields every finding of this analyzer shares.
func (f *facts) base(sev finding.Severity, id, title, desc, remedy string, tags []string) *finding.Finding {
	attrs := map[string]string{
		"type":    f.hdr.typ.String(),
		"machine": f.hdr.machine.String(),
		"entropy": strconv.FormatFloat(f.entropy, 'f', 2, 64),
	}
	if f.static() {
		attrs["static"] = "true"
	}
	if f.stripped() {
		attrs["stripped"] = "true"
	}
	if f.goBinary {
		attrs["go"] = "true"
	}
	if f.sectionsWhy != "" {
		attrs["sectionHeaders"] = truncate(f.sectionsWhy, 120)
	}
	if f.size < f.fileSize {
		attrs["scanned"] = fmt.Sprintf("first %d of %d bytes", f.size, f.fileSize)
	}
	return &finding.Finding{
		Kind: finding.KindMalware, Severity: sev, RuleID: id, Title: title, Description: desc,
		Location: finding.Location{Path: f.path}, Remediation: remedy, Tags: tags, Attributes: attrs,
	}
}

func (f *facts) finding(r io.ReaderAt, ru rule, sev finding.Severity, v verdict) *finding.Finding {
	var whats []string
	var ev []string
	seen := map[string]bool{}
	for _, s := range v.signals {
		whats = append(whats, fmt.Sprintf("%s (+%d)", s.what, s.weight))
		e := s.what
		if s.off >= 0 {
			e = around(r, f.size, s.off)
		}
		if len(ev) < 4 && !seen[e] {
			seen[e] = true
			ev = append(ev, e)
		}
	}
	fd := f.base(sev, ru.id, ru.title, ru.desc, ru.remedy, append([]string{"elf"}, ru.tags...))
	fd.Title = fmt.Sprintf("%s (score %d)", ru.title, v.score)
	fd.Evidence = truncate(strings.Join(ev, " | "), 400)
	fd.Attributes["score"] = strconv.Itoa(v.score)
	fd.Attributes["indicators"] = truncate(strings.Join(whats, "; "), 600)
	if ru.id == rulePacked.id && f.hit(labelUPXMagic) != nil {
		fd.Attributes["packer"] = "UPX"
	}
	return fd
}

// around returns the printable text around a match at off, quoted.
func around(r io.ReaderAt, size, off int64) string {
	const width = 48
	lo := max(off-width, 0)
	buf := make([]byte, min(size, off+width*2)-lo)
	n, _ := r.ReadAt(buf, lo)
	buf = buf[:n]
	i, j := int(off-lo), int(off-lo)
	if i > len(buf) {
		return ""
	}
	for i > 0 && printable(buf[i-1]) {
		i--
	}
	for j < len(buf) && printable(buf[j]) {
		j++
	}
	return strconv.Quote(string(buf[i:j]))
}

func printable(b byte) bool { return b >= 0x20 && b < 0x7f || b == '\t' }

// truncate shortens s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
