//go:build cgo && !picket_noyara

package libyara

/*
#cgo !picket_static LDFLAGS: -lyara
#cgo picket_static LDFLAGS: -l:libyara.a -lmagic -ljansson -lcrypto -lz -lbz2 -llzma -lm -ldl -pthread
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yara.h>

#if YR_MAJOR_VERSION != 4 || YR_MINOR_VERSION < 1
#error "picket needs libyara 4.1 or newer (4.x)"
#endif

// ---- compiler messages ----------------------------------------------------

#define PKT_MSG_CAP (64 * 1024)

typedef struct {
	char *buf;
	size_t len;
	int errors;
	int warnings;
} pkt_msgs;

// Records are "E|W \x1f file \x1f line \x1f rule \x1f message \x1e".
static void pkt_compiler_cb(int level, const char *file, int line,
		const YR_RULE *rule, const char *msg, void *user) {
	pkt_msgs *m = (pkt_msgs *)user;
	if (level == YARA_ERROR_LEVEL_ERROR) {
		m->errors++;
	} else {
		m->warnings++;
	}
	if (m->buf == NULL || m->len + 1 >= PKT_MSG_CAP) {
		return;
	}
	int n = snprintf(m->buf + m->len, PKT_MSG_CAP - m->len, "%c\x1f%s\x1f%d\x1f%s\x1f%s\x1e",
		level == YARA_ERROR_LEVEL_ERROR ? 'E' : 'W', file ? file : "", line,
		rule != NULL && rule->identifier != NULL ? rule->identifier : "", msg ? msg : "");
	if (n < 0) {
		return;
	}
	if ((size_t)n >= PKT_MSG_CAP - m->len) {
		m->len = PKT_MSG_CAP - 1; // truncated: the last record is cut
	} else {
		m->len += (size_t)n;
	}
}

static pkt_msgs *pkt_compiler_setup(YR_COMPILER *c) {
	pkt_msgs *m = calloc(1, sizeof(pkt_msgs));
	if (m == NULL) {
		return NULL;
	}
	m->buf = calloc(1, PKT_MSG_CAP);
	if (m->buf == NULL) {
		free(m);
		return NULL;
	}
	yr_compiler_set_callback(c, pkt_compiler_cb, m);
	return m;
}

static void pkt_msgs_free(pkt_msgs *m) {
	if (m != NULL) {
		free(m->buf);
		free(m);
	}
}

static int pkt_add_file(YR_COMPILER *c, const char *path, const char *ns) {
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	int n = yr_compiler_add_file(c, f, ns, path);
	fclose(f);
	return n;
}

// ---- rule metadata --------------------------------------------------------

static YR_RULE *pkt_rule_at(YR_RULES *rules, uint32_t i) { return &rules->rules_table[i]; }
static int pkt_rule_is_null(const YR_RULE *r) { return RULE_IS_NULL(r) ? 1 : 0; }
static int pkt_rule_is_private(const YR_RULE *r) { return RULE_IS_PRIVATE(r) ? 1 : 0; }
static const char *pkt_rule_identifier(const YR_RULE *r) { return r->identifier; }
static const char *pkt_rule_namespace(const YR_RULE *r) { return r->ns != NULL ? r->ns->name : ""; }
static const char *pkt_rule_tags(const YR_RULE *r) { return r->tags; }
static const YR_META *pkt_rule_metas(const YR_RULE *r) { return r->metas; }
static const YR_META *pkt_meta_next(const YR_META *m) { return META_IS_LAST_IN_RULE(m) ? NULL : m + 1; }
static const char *pkt_meta_identifier(const YR_META *m) { return m->identifier; }
static const char *pkt_meta_string(const YR_META *m) { return m->string; }
static int64_t pkt_meta_integer(const YR_META *m) { return m->integer; }
static int pkt_meta_type(const YR_META *m) { return m->type; }

// ---- scanning -------------------------------------------------------------

#define PKT_MAX_STR 4
#define PKT_MAX_DATA 64

typedef struct {
	uint32_t rule;
	int32_t nstr;
	const char *str_id[PKT_MAX_STR];
	int64_t off[PKT_MAX_STR];
	int32_t dlen[PKT_MAX_STR];
	uint8_t data[PKT_MAX_STR][PKT_MAX_DATA];
} pkt_match;

typedef struct {
	YR_RULES *rules;
	pkt_match *m;
	int32_t n, cap, max;
	int32_t truncated;
	int32_t too_many;
	int32_t oom;
} pkt_result;

static int pkt_scan_cb(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user) {
	pkt_result *r = (pkt_result *)user;
	if (msg == CALLBACK_MSG_TOO_MANY_MATCHES) {
		r->too_many = 1;
		return CALLBACK_CONTINUE;
	}
	if (msg != CALLBACK_MSG_RULE_MATCHING) {
		return CALLBACK_CONTINUE;
	}
	YR_RULE *rule = (YR_RULE *)data;
	if (RULE_IS_PRIVATE(rule)) {
		return CALLBACK_CONTINUE;
	}
	if (r->n >= r->max) {
		r->truncated++;
		return CALLBACK_CONTINUE;
	}
	if (r->n == r->cap) {
		int32_t ncap = r->cap ? r->cap * 2 : 8;
		if (ncap > r->max) {
			ncap = r->max;
		}
		pkt_match *nm = realloc(r->m, (size_t)ncap * sizeof(pkt_match));
		if (nm == NULL) {
			r->oom = 1;
			return CALLBACK_ERROR;
		}
		r->m = nm;
		r->cap = ncap;
	}
	pkt_match *m = &r->m[r->n++];
	memset(m, 0, sizeof(*m));
	m->rule = (uint32_t)(rule - r->rules->rules_table);
	YR_STRING *s;
	YR_MATCH *mt;
	yr_rule_strings_foreach(rule, s) {
		if (m->nstr >= PKT_MAX_STR) {
			break;
		}
		yr_string_matches_foreach(ctx, s, mt) {
			int32_t i = m->nstr++;
			int32_t dl = mt->data_length;
			if (dl > PKT_MAX_DATA) {
				dl = PKT_MAX_DATA;
			}
			if (dl < 0 || mt->data == NULL) {
				dl = 0;
			}
			m->str_id[i] = s->identifier;
			m->off[i] = mt->base + mt->offset;
			m->dlen[i] = dl;
			if (dl > 0) {
				memcpy(m->data[i], mt->data, (size_t)dl);
			}
			break; // the first match of each string is evidence enough
		}
	}
	return CALLBACK_CONTINUE;
}

static pkt_result *pkt_scanner_setup(YR_SCANNER *s, YR_RULES *rules, int32_t max) {
	pkt_result *r = calloc(1, sizeof(pkt_result));
	if (r == NULL) {
		return NULL;
	}
	r->rules = rules;
	r->max = max;
	yr_scanner_set_callback(s, pkt_scan_cb, r);
	return r;
}

static void pkt_result_reset(pkt_result *r) {
	r->n = 0;
	r->truncated = 0;
	r->too_many = 0;
	r->oom = 0;
}

static void pkt_result_free(pkt_result *r) {
	if (r != NULL) {
		free(r->m);
		free(r);
	}
}

static pkt_match *pkt_result_at(pkt_result *r, int32_t i) { return &r->m[i]; }
static const char *pkt_match_str_id(pkt_match *m, int32_t i) { return m->str_id[i]; }
static int64_t pkt_match_off(pkt_match *m, int32_t i) { return m->off[i]; }
static int32_t pkt_match_dlen(pkt_match *m, int32_t i) { return m->dlen[i]; }
static uint8_t *pkt_match_data(pkt_match *m, int32_t i) { return m->data[i]; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Available reports whether this build has libyara.
const Available = true

// Version is the libyara version this build was compiled against.
const Version = C.YR_VERSION

var initOnce struct {
	sync.Once
	err error
}

func initialize() error {
	initOnce.Do(func() {
		if rc := C.yr_initialize(); rc != C.ERROR_SUCCESS {
			initOnce.err = codeError("initialize", rc)
		}
	})
	return initOnce.err
}

// Rules are compiled rules, safe for concurrent use by many Scanners.
type Rules struct {
	r     *C.YR_RULES
	infos []RuleInfo
	mu    sync.Mutex // guards r for Close
}

// Compile compiles sources with the external string variables named in
// externals (their values are defaults; scanners set them per scan). It
// returns the compiler's warnings; a failed compilation returns a
// *CompileError.
func Compile(sources []Source, externals map[string]string) (*Rules, []Message, error) {
	if err := initialize(); err != nil {
		return nil, nil, err
	}
	var c *C.YR_COMPILER
	if rc := C.yr_compiler_create(&c); rc != C.ERROR_SUCCESS {
		return nil, nil, codeError("compiler", rc)
	}
	defer C.yr_compiler_destroy(c)
	msgs := C.pkt_compiler_setup(c)
	if msgs == nil {
		return nil, nil, fmt.Errorf("yara: compiler: out of memory")
	}
	defer C.pkt_msgs_free(msgs)
	var warnings []Message

	for _, name := range sortedKeys(externals) {
		cn, cv := C.CString(name), C.CString(externals[name])
		rc := C.yr_compiler_define_string_variable(c, cn, cv)
		C.free(unsafe.Pointer(cn))
		C.free(unsafe.Pointer(cv))
		if rc != C.ERROR_SUCCESS {
			return nil, nil, codeError("define external "+name, rc)
		}
	}
	for _, src := range sources {
		ns := src.Namespace
		if ns == "" {
			ns = "default"
		}
		cns := C.CString(ns)
		var n C.int
		if src.Text != nil {
			ctext := C.CString(string(src.Text))
			n = C.yr_compiler_add_string(c, ctext, cns)
			C.free(unsafe.Pointer(ctext))
		} else {
			cpath := C.CString(src.Path)
			n = C.pkt_add_file(c, cpath, cns)
			C.free(unsafe.Pointer(cpath))
		}
		C.free(unsafe.Pointer(cns))
		if n < 0 {
			return nil, nil, fmt.Errorf("yara: cannot open %s", src.Path)
		}
		failed := n > 0 || msgs.errors > 0
		ms := parseMessages(msgs)
		for i := range ms {
			if ms[i].File == "" {
				ms[i].File = src.Name
			}
		}
		if failed {
			// libyara's compiler cannot be used after an error.
			return nil, nil, &CompileError{Source: src.Name, Messages: ms}
		}
		warnings = append(warnings, ms...)
	}
	var yr *C.YR_RULES
	if rc := C.yr_compiler_get_rules(c, &yr); rc != C.ERROR_SUCCESS {
		return nil, warnings, codeError("get rules", rc)
	}
	r := &Rules{r: yr}
	r.infos = ruleInfos(yr)
	runtime.SetFinalizer(r, (*Rules).Close)
	return r, warnings, nil
}

func parseMessages(m *C.pkt_msgs) []Message {
	if m.len == 0 {
		return nil
	}
	raw := C.GoStringN(m.buf, C.int(m.len))
	var out []Message
	for rec := range strings.SplitSeq(raw, "\x1e") {
		f := strings.Split(rec, "\x1f")
		if len(f) != 5 {
			continue
		}
		line, _ := strconv.Atoi(f[2])
		out = append(out, Message{Warning: f[0] == "W", File: f[1], Line: line, Rule: f[3], Text: f[4]})
	}
	// Mark what was consumed so that the next source's messages are new.
	m.len = 0
	m.errors = 0
	return out
}

func ruleInfos(yr *C.YR_RULES) []RuleInfo {
	var out []RuleInfo
	for i := C.uint32_t(0); ; i++ {
		rule := C.pkt_rule_at(yr, i)
		if C.pkt_rule_is_null(rule) != 0 {
			break
		}
		info := RuleInfo{
			Identifier: C.GoString(C.pkt_rule_identifier(rule)),
			Namespace:  C.GoString(C.pkt_rule_namespace(rule)),
			Private:    C.pkt_rule_is_private(rule) != 0,
		}
		if tags := C.pkt_rule_tags(rule); tags != nil {
			p := unsafe.Pointer(tags)
			for *(*byte)(p) != 0 {
				t := C.GoString((*C.char)(p))
				info.Tags = append(info.Tags, t)
				p = unsafe.Add(p, len(t)+1)
			}
		}
		for m := C.pkt_rule_metas(rule); m != nil; m = C.pkt_meta_next(m) {
			meta := Meta{Key: C.GoString(C.pkt_meta_identifier(m))}
			switch C.pkt_meta_type(m) {
			case C.META_TYPE_INTEGER:
				meta.Value = int64(C.pkt_meta_integer(m))
			case C.META_TYPE_BOOLEAN:
				meta.Value = C.pkt_meta_integer(m) != 0
			default:
				meta.Value = C.GoString(C.pkt_meta_string(m))
			}
			info.Meta = append(info.Meta, meta)
		}
		out = append(out, info)
	}
	return out
}

// Rules lists every compiled rule (private ones included).
func (r *Rules) Rules() []RuleInfo { return r.infos }

// Close frees the rules. Scanners made from them must be closed first.
func (r *Rules) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r != nil {
		C.yr_rules_destroy(r.r)
		r.r = nil
	}
	runtime.SetFinalizer(r, nil)
}

// Scanner scans with one set of rules. It is not safe for concurrent use.
type Scanner struct {
	rules *Rules
	s     *C.YR_SCANNER
	res   *C.pkt_result
}

// NewScanner returns a scanner for r.
func (r *Rules) NewScanner() (*Scanner, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return nil, fmt.Errorf("yara: rules are closed")
	}
	var s *C.YR_SCANNER
	if rc := C.yr_scanner_create(r.r, &s); rc != C.ERROR_SUCCESS {
		return nil, codeError("scanner", rc)
	}
	res := C.pkt_scanner_setup(s, r.r, MaxRuleMatches)
	if res == nil {
		C.yr_scanner_destroy(s)
		return nil, fmt.Errorf("yara: scanner: out of memory")
	}
	sc := &Scanner{rules: r, s: s, res: res}
	// The scanner points at the rules, so the Go runtime finalizes it
	// before them.
	runtime.SetFinalizer(sc, (*Scanner).Close)
	return sc, nil
}

// SetTimeout bounds each scan; it is rounded up to whole seconds
// (libyara's unit). Zero means no timeout.
func (s *Scanner) SetTimeout(d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	C.yr_scanner_set_timeout(s.s, C.int(secs))
}

// DefineString sets an external string variable for the following scans.
// The variable must have been declared when the rules were compiled.
func (s *Scanner) DefineString(name, value string) error {
	cn, cv := C.CString(name), C.CString(value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	if rc := C.yr_scanner_define_string_variable(s.s, cn, cv); rc != C.ERROR_SUCCESS {
		return codeError("define "+name, rc)
	}
	return nil
}

// ScanMem scans b.
func (s *Scanner) ScanMem(b []byte) (*Result, error) {
	C.pkt_result_reset(s.res)
	var p *C.uint8_t
	if len(b) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	rc := C.yr_scanner_scan_mem(s.s, p, C.size_t(len(b)))
	runtime.KeepAlive(b)
	return s.collect(rc)
}

// ScanFd scans the whole file open as fd (libyara maps it into memory).
func (s *Scanner) ScanFd(fd uintptr) (*Result, error) {
	C.pkt_result_reset(s.res)
	rc := C.yr_scanner_scan_fd(s.s, C.int(fd))
	return s.collect(rc)
}

func (s *Scanner) collect(rc C.int) (*Result, error) {
	defer runtime.KeepAlive(s)
	switch {
	case rc == C.ERROR_SCAN_TIMEOUT:
		return nil, ErrTimeout
	case s.res.oom != 0:
		return nil, fmt.Errorf("yara: scan: out of memory")
	case rc != C.ERROR_SUCCESS:
		return nil, codeError("scan", rc)
	}
	out := &Result{Truncated: int(s.res.truncated), TooManyMatches: s.res.too_many != 0}
	for i := C.int32_t(0); i < s.res.n; i++ {
		m := C.pkt_result_at(s.res, i)
		idx := int(m.rule)
		if idx < 0 || idx >= len(s.rules.infos) {
			continue
		}
		match := Match{Rule: &s.rules.infos[idx]}
		for j := C.int32_t(0); j < m.nstr; j++ {
			match.Strings = append(match.Strings, StringMatch{
				ID:     C.GoString(C.pkt_match_str_id(m, j)),
				Offset: int64(C.pkt_match_off(m, j)),
				Data:   C.GoBytes(unsafe.Pointer(C.pkt_match_data(m, j)), C.int(C.pkt_match_dlen(m, j))),
			})
		}
		out.Matches = append(out.Matches, match)
	}
	return out, nil
}

// Close frees the scanner.
func (s *Scanner) Close() {
	if s.s != nil {
		C.yr_scanner_destroy(s.s)
		C.pkt_result_free(s.res)
		s.s, s.res = nil, nil
	}
	runtime.SetFinalizer(s, nil)
}

// errorNames names libyara's error codes that scans and compilation meet.
var errorNames = map[C.int]string{
	C.ERROR_INSUFFICIENT_MEMORY:          "insufficient memory",
	C.ERROR_COULD_NOT_OPEN_FILE:          "could not open file",
	C.ERROR_COULD_NOT_MAP_FILE:           "could not map file",
	C.ERROR_COULD_NOT_READ_FILE:          "could not read file",
	C.ERROR_INVALID_FILE:                 "invalid file",
	C.ERROR_CORRUPT_FILE:                 "corrupt file",
	C.ERROR_EXEC_STACK_OVERFLOW:          "condition too complex (stack overflow)",
	C.ERROR_TOO_MANY_SCAN_THREADS:        "too many concurrent scans",
	C.ERROR_CALLBACK_ERROR:               "callback error",
	C.ERROR_INVALID_ARGUMENT:             "invalid argument",
	C.ERROR_TOO_MANY_MATCHES:             "too many matches",
	C.ERROR_INTERNAL_FATAL_ERROR:         "internal fatal error",
	C.ERROR_TOO_MANY_RE_FIBERS:           "regular expression too complex for this input",
	C.ERROR_INVALID_MODULE_DATA:          "invalid module data",
	C.ERROR_DUPLICATED_IDENTIFIER:        "duplicated identifier",
	C.ERROR_UNDEFINED_IDENTIFIER:         "undefined identifier",
	C.ERROR_BLOCK_NOT_READY:              "block not ready",
	C.ERROR_DUPLICATED_EXTERNAL_VARIABLE: "duplicated external variable",
}

func codeError(op string, rc C.int) error {
	if n, ok := errorNames[rc]; ok {
		return fmt.Errorf("yara: %s: %s (error %d)", op, n, int(rc))
	}
	return fmt.Errorf("yara: %s: error %d", op, int(rc))
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
