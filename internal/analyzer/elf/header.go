package elf

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits on header tables. The kernel refuses program header tables above
// 64 KiB; section tables of real binaries have well under 1,000 entries
// (extended numbering allows 2^32, which only hostile files use).
const (
	maxPhTable  = 64 << 10
	maxSections = 1 << 16
)

// errMalformed marks files that start like ELF but whose headers are broken.
var errMalformed = errors.New("malformed ELF")

// prog is one program header.
type prog struct {
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64
	filesz uint64
	memsz  uint64
}

// header is what Picket reads itself, before and instead of debug/elf: the
// parts the kernel needs to run the file, checked against the file size, so
// that hostile files never reach debug/elf with absurd tables.
type header struct {
	class     elf.Class
	order     binary.ByteOrder
	typ       elf.Type
	machine   elf.Machine
	entry     uint64
	progs     []prog
	shoff     uint64
	shnum     uint64
	shentsize uint64
	shstrndx  uint64
	// sectionsOK says the section header table lies inside the file and
	// has sane sizes; noSections that there is none at all.
	sectionsOK, noSections bool
	sectionsWhy            string
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// readHeader parses the ELF and program headers of r (size bytes).
func readHeader(r io.ReaderAt, size int64) (*header, error) {
	var id [64]byte
	n, err := r.ReadAt(id[:], 0)
	if n < 52 {
		if err == nil || err == io.EOF {
			return nil, malformed("truncated ELF header (%d bytes)", n)
		}
		return nil, err
	}
	h := &header{class: elf.Class(id[elf.EI_CLASS])}
	switch elf.Data(id[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		h.order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		h.order = binary.BigEndian
	default:
		return nil, malformed("unknown data encoding %d", id[elf.EI_DATA])
	}
	bo := h.order
	h.typ = elf.Type(bo.Uint16(id[16:]))
	h.machine = elf.Machine(bo.Uint16(id[18:]))
	var phoff, phentsize, phnum uint64
	switch h.class {
	case elf.ELFCLASS64:
		if n < 64 {
			return nil, malformed("truncated ELF64 header (%d bytes)", n)
		}
		h.entry = bo.Uint64(id[24:])
		phoff = bo.Uint64(id[32:])
		h.shoff = bo.Uint64(id[40:])
		phentsize = uint64(bo.Uint16(id[54:]))
		phnum = uint64(bo.Uint16(id[56:]))
		h.shentsize = uint64(bo.Uint16(id[58:]))
		h.shnum = uint64(bo.Uint16(id[60:]))
		h.shstrndx = uint64(bo.Uint16(id[62:]))
		if phnum > 0 && phentsize < 56 {
			return nil, malformed("program header size %d", phentsize)
		}
	case elf.ELFCLASS32:
		h.entry = uint64(bo.Uint32(id[24:]))
		phoff = uint64(bo.Uint32(id[28:]))
		h.shoff = uint64(bo.Uint32(id[32:]))
		phentsize = uint64(bo.Uint16(id[42:]))
		phnum = uint64(bo.Uint16(id[44:]))
		h.shentsize = uint64(bo.Uint16(id[46:]))
		h.shnum = uint64(bo.Uint16(id[48:]))
		h.shstrndx = uint64(bo.Uint16(id[50:]))
		if phnum > 0 && phentsize < 32 {
			return nil, malformed("program header size %d", phentsize)
		}
	default:
		return nil, malformed("unknown class %d", id[elf.EI_CLASS])
	}
	if h.typ != elf.ET_EXEC && h.typ != elf.ET_DYN {
		return h, nil // objects, cores, kernel modules: not programs
	}

	// Program headers: what the kernel and ld.so map.
	if phnum == 0 {
		return nil, malformed("%s without program headers", h.typ)
	}
	tbl := phnum * phentsize
	if tbl > maxPhTable {
		return nil, malformed("program header table of %d bytes", tbl)
	}
	if phoff >= uint64(size) || tbl > uint64(size)-phoff {
		return nil, malformed("program header table (offset %d, %d bytes) beyond the end of the file (%d bytes)", phoff, tbl, size)
	}
	buf := make([]byte, tbl)
	if _, err := r.ReadAt(buf, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading program headers: %w", err)
	}
	h.progs = make([]prog, phnum)
	for i := range h.progs {
		b := buf[uint64(i)*phentsize:]
		p := &h.progs[i]
		p.typ = elf.ProgType(bo.Uint32(b))
		if h.class == elf.ELFCLASS64 {
			p.flags = elf.ProgFlag(bo.Uint32(b[4:]))
			p.off = bo.Uint64(b[8:])
			p.filesz = bo.Uint64(b[32:])
			p.memsz = bo.Uint64(b[40:])
		} else {
			p.off = uint64(bo.Uint32(b[4:]))
			p.filesz = uint64(bo.Uint32(b[16:]))
			p.memsz = uint64(bo.Uint32(b[20:]))
			p.flags = elf.ProgFlag(bo.Uint32(b[24:]))
		}
	}

	// Section headers: optional for running, needed for names and symbols.
	// debug/elf reads them only when they are sane.
	want := uint64(64)
	if h.class == elf.ELFCLASS32 {
		want = 40
	}
	switch {
	case h.shoff == 0 && h.shnum == 0:
		h.noSections = true
	case h.shoff == 0 || h.shentsize < want:
		h.sectionsWhy = fmt.Sprintf("section header table at offset %d with entry size %d", h.shoff, h.shentsize)
	case h.shnum == 0:
		// Extended numbering: the count is in section 0's sh_size.
		var s0 [64]byte
		if h.shoff >= uint64(size) || want > uint64(size)-h.shoff {
			h.sectionsWhy = "section header table beyond the end of the file"
			break
		}
		if _, err := r.ReadAt(s0[:want], int64(h.shoff)); err != nil {
			h.sectionsWhy = "unreadable section header 0"
			break
		}
		if h.class == elf.ELFCLASS64 {
			h.shnum = bo.Uint64(s0[32:])
		} else {
			h.shnum = uint64(bo.Uint32(s0[20:]))
		}
		if h.shnum == 0 {
			h.noSections = true
			break
		}
		fallthrough
	default:
		switch {
		case h.shnum > maxSections:
			h.sectionsWhy = fmt.Sprintf("%d sections", h.shnum)
		case h.shoff >= uint64(size) || h.shnum*h.shentsize > uint64(size)-h.shoff:
			h.sectionsWhy = fmt.Sprintf("section header table (offset %d, %d entries) beyond the end of the file", h.shoff, h.shnum)
		default:
			h.sectionsOK = true
			h.checkNames(r, size)
		}
	}
	return h, nil
}

// checkNames vets the section name table, which debug/elf reads (and
// decompresses) as soon as it opens a file: a compressed one could be a
// decompression bomb, so such files are not handed to debug/elf.
func (h *header) checkNames(r io.ReaderAt, size int64) {
	n := 64
	if h.class == elf.ELFCLASS32 {
		n = 40
	}
	idx := h.shstrndx
	if idx == uint64(elf.SHN_XINDEX) {
		idx = 0 // the real index is in section 0's sh_link
		var s0 [64]byte
		if _, err := r.ReadAt(s0[:n], int64(h.shoff)); err != nil {
			h.sectionsOK, h.sectionsWhy = false, "unreadable section header 0"
			return
		}
		idx = uint64(h.order.Uint32(s0[h.linkOff():]))
	}
	if idx == 0 {
		return
	}
	if idx >= h.shnum {
		h.sectionsOK, h.sectionsWhy = false, fmt.Sprintf("section name table index %d of %d sections", idx, h.shnum)
		return
	}
	var sh [64]byte
	if _, err := r.ReadAt(sh[:n], int64(h.shoff+idx*h.shentsize)); err != nil {
		h.sectionsOK, h.sectionsWhy = false, "unreadable section name table header"
		return
	}
	bo := h.order
	var flags, off, sz uint64
	if h.class == elf.ELFCLASS64 {
		flags, off, sz = bo.Uint64(sh[8:]), bo.Uint64(sh[24:]), bo.Uint64(sh[32:])
	} else {
		flags, off, sz = uint64(bo.Uint32(sh[8:])), uint64(bo.Uint32(sh[16:])), uint64(bo.Uint32(sh[20:]))
	}
	switch {
	case elf.SectionFlag(flags)&elf.SHF_COMPRESSED != 0:
		h.sectionsOK, h.sectionsWhy = false, "compressed section name table"
	case off > uint64(size) || sz > uint64(size)-off:
		h.sectionsOK, h.sectionsWhy = false, "section name table beyond the end of the file"
	}
}

// linkOff is the offset of sh_link in a section header.
func (h *header) linkOff() int {
	if h.class == elf.ELFCLASS64 {
		return 40
	}
	return 24
}

// interp reports whether the program asks for a dynamic loader.
func (h *header) interp() bool {
	for _, p := range h.progs {
		if p.typ == elf.PT_INTERP {
			return true
		}
	}
	return false
}
