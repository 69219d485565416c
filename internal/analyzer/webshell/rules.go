package webshell

import (
	"regexp"
	"strings"
)

// sinkKind says what a sink does with its argument.
type sinkKind int

const (
	sinkCode     sinkKind = iota // evaluates code: eval, assert, exec()
	sinkCmd                      // runs an OS command: system, Runtime.exec
	sinkInclude                  // includes a file as code: include, require
	sinkCallback                 // calls a function named by an argument: call_user_func
	sinkLoader                   // loads code from bytes: defineClass, Assembly.Load
)

func (k sinkKind) String() string {
	return [...]string{"code evaluation", "command execution", "file inclusion", "callback", "in-memory code loading"}[k]
}

// sink is one family of dangerous calls. Candidates are found by searching
// the lower-cased file for the literals, each of which begins the name; the
// anchored regexp must then match there (its first submatch is the name,
// which must be code, not a string or comment), and the text before the name
// must pass the context check. The argument follows the match.
type sink struct {
	lits   []string
	re     *regexp.Regexp
	before ctxRule
	kind   sinkKind
	// needs, when set, is a (lower-case) string the file must contain for
	// the sink to count (".exec(" only means Runtime.exec in a file that
	// mentions Runtime).
	needs string
}

// ctxRule is what must precede a match.
type ctxRule struct {
	kind ctxKind
	// not lists bytes that must not precede the name besides identifier
	// bytes (ctxWord): "$>:\\" keeps PHP's $x->exec( and Foo::system( out.
	not string
}

type ctxKind int

const (
	ctxAny  ctxKind = iota
	ctxWord         // a word boundary, and none of the bytes in not
	ctxDot          // a method call: x.name or ).name
	ctxNew          // a constructor: new name or new pkg.name
)

// lang is what the analyzer knows about one language.
type lang struct {
	name string
	// fold matches patterns against the lower-cased file: PHP function
	// names and everything in VBScript ignore case.
	fold bool
	lex  lexer
	// sources match request input; sourcesAt is the same anchored at a
	// literal of sourceLits, each of which begins a match.
	sources, sourcesAt *regexp.Regexp
	sourceLits         []string
	sinks              []sink
	decoders           *regexp.Regexp
	decoderLits        []string // a decoder match contains one of them
	// stmtEnd ends statements and argument-less calls.
	stmtEnd string
	// dollarVars: variables are written with a $ (PHP).
	dollarVars bool
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// at compiles an anchored pattern.
func at(s string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + s + `)`) }

func l(s ...string) []string { return s }

// sources sets both source patterns.
func (lg *lang) withSources(pat string, lits ...string) *lang {
	lg.sources, lg.sourcesAt, lg.sourceLits = re(pat), at(pat), lits
	return lg
}

var (
	phpWord = ctxRule{ctxWord, "$>:\\"}
	pyWord  = ctxRule{ctxWord, "."}
	word    = ctxRule{ctxWord, ""}
	dot     = ctxRule{ctxDot, ""}
	newCtx  = ctxRule{ctxNew, ""}
)

// Sources of request input, sinks and decoders, per language. Patterns of
// folded languages are written in lower case.
var (
	langPHP = (&lang{
		name: "PHP", fold: true, lex: lexPHP, dollarVars: true, stmtEnd: ";\n",
		sinks: []sink{
			{lits: l("eval", "assert", "create_function"), re: at(`(eval|assert|create_function)\s*\(`), before: phpWord, kind: sinkCode},
			{lits: l("system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec", "expect_popen"),
				re: at(`(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|expect_popen)\s*\(`), before: phpWord, kind: sinkCmd},
			{lits: l("include", "require"), re: at(`((?:include|require)(?:_once)?)\b`), before: phpWord, kind: sinkInclude},
			{lits: l("call_user_func", "array_map", "array_filter", "array_walk", "array_reduce", "usort", "uasort", "uksort",
				"register_shutdown_function", "register_tick_function", "iterator_apply", "forward_static_call", "ob_start",
				"set_error_handler", "set_exception_handler"),
				re: at(`(call_user_func(?:_array)?|array_map|array_filter|array_walk(?:_recursive)?|array_reduce|` +
					`u[ak]?sort|register_shutdown_function|register_tick_function|iterator_apply|forward_static_call(?:_array)?|` +
					`ob_start|set_error_handler|set_exception_handler)\s*\(`), before: phpWord, kind: sinkCallback},
		},
		decoders: re(`\b(?:base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|convert_uudecode|` +
			`bzdecompress|lzf_decompress|rawurldecode|urldecode|mcrypt_decrypt|openssl_decrypt)\s*\(|\bpack\s*\(\s*['"]h\*`),
		decoderLits: l("base64_decode", "gz", "str_rot13", "strrev", "hex2bin", "uudecode", "decompress", "urldecode", "decrypt", "pack"),
	}).withSources(`\$_(?:get|post|request|cookie|files)\b|\$_server\s*\[\s*['"](?:http_|query_string|request_uri|path_info|php_auth)|`+
		`getallheaders\s*\(|apache_request_headers\s*\(|php://input|\$http_raw_post_data|\$http_(?:get|post|cookie)_vars|`+
		`\$\{\s*['"]_(?:get|post|request|cookie)['"]\s*\}|\$globals\s*\[\s*['"]_(?:get|post|request|cookie)|`+
		`filter_input\s*\(\s*input_(?:get|post|cookie|request|server)`,
		"$_", "getallheaders", "apache_request_headers", "php://input", "$http_", "${", "$globals", "filter_input")

	langPython = (&lang{
		name: "Python", lex: lexPython, stmtEnd: "\n;",
		sinks: []sink{
			{lits: l("eval", "exec"), re: at(`(eval|exec|execfile)\s*\(`), before: pyWord, kind: sinkCode},
			{lits: l("os.system", "os.popen", "os.exec", "os.spawn", "posix.system", "posix.popen", "posix.exec", "posix.spawn",
				"subprocess.", "commands.get", "pty.spawn", "platform.popen", "popen2.popen"),
				re: at(`((?:os|posix)\.(?:system|popen[234]?|exec[lv]p?e?|spawn[lv]p?e?)|` +
					`subprocess\.(?:call|run|Popen|check_output|check_call|getoutput|getstatusoutput)|` +
					`commands\.get(?:status)?output|pty\.spawn|platform\.popen|popen2\.popen[234])\s*\(`), before: pyWord, kind: sinkCmd},
			{lits: l("popen", "check_output", "check_call", "getoutput", "getstatusoutput"), needs: "subprocess",
				re: at(`(Popen|check_output|check_call|getoutput|getstatusoutput)\s*\(`), before: pyWord, kind: sinkCmd},
			{lits: l("__import__"), re: at(`(__import__\(\s*['"](?:os|subprocess|commands|pty)['"]\s*\)\s*\.\s*\w+)\s*\(`), before: pyWord, kind: sinkCmd},
		},
		decoders: re(`\b(?:base64\.)?(?:b64decode|b32decode|b16decode|decodebytes|decodestring|a2b_base64|urlsafe_b64decode)\s*\(|` +
			`\b(?:zlib|gzip|bz2|lzma)\.decompress\s*\(|\bcodecs\.decode\s*\(|\bbytes\.fromhex\s*\(|` +
			`\b(?:binascii\.)?unhexlify\s*\(|\.decode\(\s*['"](?:base64|hex|rot.?13|zlib)['"]`),
		decoderLits: l("decode", "a2b_base64", "decompress", "fromhex", "unhexlify"),
	}).withSources(`request\.(?:args|form|values|data|json|get_json|GET|POST|REQUEST|cookies|COOKIES|headers|META|files|FILES|`+
		`body|query_params|query_string|get_data|params|query|forms|POST_dict)\b|FieldStorage\s*\(|`+
		`environ(?:\s*\[\s*|\.get\(\s*)['"](?:QUERY_STRING|HTTP_\w+)['"]|\.get_(?:query_|body_)?argument\s*\(`,
		"request.", "fieldstorage", "environ", ".get_")

	langJSP = (&lang{
		name: "JSP", lex: lexTemplate(false, false), stmtEnd: ";",
		sinks: []sink{
			{lits: l("runtime"), re: at(`(Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec)\s*\(`), before: word, kind: sinkCmd},
			{lits: l("exec"), needs: "runtime", re: at(`(exec)\s*\(`), before: dot, kind: sinkCmd},
			{lits: l("processbuilder"), re: at(`(ProcessBuilder)\s*\(`), before: newCtx, kind: sinkCmd},
			{lits: l("command"), needs: "processbuilder", re: at(`(command)\s*\(`), before: dot, kind: sinkCmd},
			{lits: l("eval"), needs: "scriptengine", re: at(`(eval)\s*\(`), before: dot, kind: sinkCode},
			{lits: l("eval"), needs: "elprocessor", re: at(`(eval)\s*\(`), before: dot, kind: sinkCode},
			{lits: l("defineclass"), re: at(`(defineClass)\s*\(`), before: word, kind: sinkLoader},
		},
		decoders: re(`\bBase64\s*\.\s*getDecoder\s*\(\s*\)\s*\.\s*decode\s*\(|\bdecodeBuffer\s*\(|\bparseBase64Binary\s*\(|` +
			`\bBase64\s*\.\s*decodeBase64\s*\(|\.doFinal\s*\(|\bCipher\s*\.\s*getInstance\s*\(`),
		decoderLits: l("decode", "parsebase64binary", "dofinal", "cipher"),
	}).withSources(`request\.get(?:Parameter|ParameterValues|ParameterMap|Header|Headers|InputStream|Reader|QueryString|Cookies|Part|Parts)\s*\(|`+
		`pageContext\.getRequest\s*\(`,
		"request.get", "pagecontext.getrequest")

	langASP = (&lang{
		name: "ASP", fold: true, stmtEnd: ";\n:",
		sinks: []sink{
			{lits: l("eval", "execute"), re: at(`(eval|execute|executeglobal)\b`), before: pyWord, kind: sinkCode},
			{lits: l("process"), re: at(`(process\s*\.\s*start)\s*\(`), before: word, kind: sinkCmd},
			{lits: l("processstartinfo"), re: at(`(processstartinfo)\s*\(`), before: newCtx, kind: sinkCmd},
			{lits: l("exec", "run"), needs: "wscript.shell", re: at(`(exec|run)\b`), before: dot, kind: sinkCmd},
			{lits: l("assembly"), re: at(`(assembly\s*\.\s*load)\s*\(`), before: word, kind: sinkLoader},
			{lits: l("getmethod"), re: at(`(getmethod)\s*\(\s*"load"`), before: dot, kind: sinkLoader},
		},
		decoders:    re(`\bfrombase64string\s*\(|\btransformfinalblock\s*\(|\bcreatedecryptor\s*\(|\bstrreverse\s*\(`),
		decoderLits: l("frombase64string", "transformfinalblock", "createdecryptor", "strreverse"),
	}).withSources(`request\s*\(|request\s*\[|request\.(?:form|querystring|item|params|cookies|servervariables|binaryread|inputstream|headers|files)\b`,
		"request")
)

// langFor picks the language from the file name, and for .cgi scripts from
// the interpreter line.
func langFor(p string, head []byte) *lang {
	ext := strings.ToLower(p[strings.LastIndexByte(p, '.')+1:])
	switch ext {
	case "php", "phtml", "php3", "php4", "php5", "php7", "php8", "pht", "inc":
		return langPHP
	case "py", "pyw":
		return langPython
	case "jsp", "jspx", "jspf":
		return langJSP
	case "asp", "aspx", "ashx", "asmx":
		return aspLang(ext, head)
	case "cgi":
		line := head
		if i := strings.IndexByte(string(head[:min(len(head), 200)]), '\n'); i >= 0 {
			line = head[:i]
		}
		switch {
		case strings.Contains(string(line), "python"):
			return langPython
		case strings.Contains(string(line), "php"):
			return langPHP
		}
	}
	return nil
}

// aspLang returns ASP rules lexed for the page's language: VBScript for
// classic ASP unless the page says otherwise, C# for ASP.NET; handlers
// (.ashx, .asmx) are code throughout.
func aspLang(ext string, head []byte) *lang {
	low := strings.ToLower(string(head[:min(len(head), 4096)]))
	vb := ext == "asp"
	if i := strings.Index(low, "language"); i >= 0 {
		decl := low[i:min(len(low), i+40)]
		switch {
		case strings.Contains(decl, "vb"):
			vb = true
		case strings.Contains(decl, "c#"), strings.Contains(decl, "csharp"), strings.Contains(decl, "jscript"), strings.Contains(decl, "javascript"):
			vb = false
		}
	}
	l := *langASP
	l.lex = lexTemplate(vb, ext == "ashx" || ext == "asmx")
	return &l
}

// sensitive are names obfuscation hides: when an escaped string, a chr()
// chain or a concatenation of short literals spells one of them, the file
// is hiding what it calls.
var sensitive = []string{
	"eval", "assert", "system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec",
	"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "str_rot13", "create_function",
	"call_user_func", "call_user_func_array", "preg_replace", "file_put_contents",
	"_post", "_get", "_request", "_cookie", "$_post", "$_get", "$_request", "$_cookie",
	"os.system", "subprocess", "__import__", "b64decode", "getruntime", "processbuilder",
	"wscript.shell", "cmd.exe", "/bin/sh", "/bin/bash", "execute", "executeglobal",
}

// markers are names and banners of well-known webshell families.
var markers = []string{
	"filesman", "b374k", "c99shell", "c99sh_", "r57shell", "indoxploit", "p0wny", "weevely",
	"antsword", "behinder", "php-reverse-shell", "phpspy", "wso shell", "webshell by", "sh3ll by",
	"$i+1&15]", // the XOR loop Behinder and Godzilla decrypt requests with
}

// Reverse shells: a socket connection, descriptors handed to a process and
// a shell to run. The patterns are anchored at their literals.
var (
	revConnectLits = l("fsockopen", "socket_create", "socket", "tcpclient")
	revSpawnLits   = l("dup2", "proc_open", "pty.spawn", "processbuilder", "getruntime", "process")
	revShellLits   = l("/bin/", "cmd.exe", "powershell")
	revConnect     = at(`(?i)(?:fsockopen|socket_create|socket(?:\.socket)?|tcpclient)\s*\(`)
	revSpawn       = at(`(?i)(?:dup2|proc_open|pty\.spawn|processbuilder|getruntime\s*\(\s*\)\s*\.\s*exec|process\s*\.\s*start)\s*\(`)
	revShell       = at(`(?i)(?:/bin/(?:ba)?sh\b|cmd\.exe\b|powershell)`)
)
