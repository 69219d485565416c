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

// sink is one family of dangerous calls. The regexp's first submatch is the
// function name, which must be code (not a string or comment); the argument
// follows the match.
type sink struct {
	re   *regexp.Regexp
	lits []string // lower-case literals every match contains, to find candidates fast
	kind sinkKind
	// needs, when set, is a (lower-case) string the file must contain for
	// the sink to count (".exec(" only means Runtime.exec in a file that
	// mentions Runtime).
	needs string
}

// lang is what the analyzer knows about one language.
type lang struct {
	name string
	// fold matches patterns against the lower-cased file: PHP function
	// names and everything in VBScript ignore case.
	fold        bool
	lex         lexer
	sources     *regexp.Regexp
	sourceLits  []string // lower-case literals every source match contains
	sinks       []sink
	decoders    *regexp.Regexp
	decoderLits []string
	// stmtEnd ends statements and argument-less calls.
	stmtEnd string
	// dollarVars: variables are written with a $ (PHP).
	dollarVars bool
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func l(s ...string) []string { return s }

// Sources of request input, sinks and decoders, per language. Patterns of
// folded languages are written in lower case.
var (
	langPHP = &lang{
		name: "PHP", fold: true, lex: lexPHP, dollarVars: true, stmtEnd: ";\n",
		sources: re(`\$_(?:get|post|request|cookie|files)\b|\$_server\s*\[\s*['"](?:http_|query_string|request_uri|path_info|php_auth)|` +
			`getallheaders\s*\(|apache_request_headers\s*\(|php://input|\$http_raw_post_data|\$http_(?:get|post|cookie)_vars|` +
			`\$\{\s*['"]_(?:get|post|request|cookie)['"]\s*\}|\$globals\s*\[\s*['"]_(?:get|post|request|cookie)|` +
			`filter_input\s*\(\s*input_(?:get|post|cookie|request|server)`),
		sourceLits: l("$_", "getallheaders", "apache_request_headers", "php://input", "$http_", "${", "$globals", "filter_input"),
		sinks: []sink{
			{re: re(`(?:^|[^a-z0-9_$>:\\])(eval|assert|create_function)\s*\(`), kind: sinkCode, lits: l("eval", "assert", "create_function")},
			{re: re(`(?:^|[^a-z0-9_$>:\\])(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|expect_popen)\s*\(`), kind: sinkCmd,
				lits: l("system", "exec", "passthru", "popen", "proc_open")},
			{re: re(`(?:^|[^a-z0-9_$>:\\])((?:include|require)(?:_once)?)\b`), kind: sinkInclude, lits: l("include", "require")},
			{re: re(`(?:^|[^a-z0-9_$>:\\])(call_user_func(?:_array)?|array_map|array_filter|array_walk(?:_recursive)?|array_reduce|` +
				`u[ak]?sort|register_shutdown_function|register_tick_function|iterator_apply|forward_static_call(?:_array)?|` +
				`ob_start|set_error_handler|set_exception_handler)\s*\(`), kind: sinkCallback,
				lits: l("call_user_func", "array_map", "array_filter", "array_walk", "array_reduce", "usort", "uasort", "uksort",
					"register_shutdown_function", "register_tick_function", "iterator_apply", "forward_static_call", "ob_start",
					"set_error_handler", "set_exception_handler")},
		},
		decoders: re(`\b(?:base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|convert_uudecode|` +
			`bzdecompress|lzf_decompress|rawurldecode|urldecode|mcrypt_decrypt|openssl_decrypt)\s*\(|\bpack\s*\(\s*['"]h\*`),
		decoderLits: l("base64_decode", "gz", "str_rot13", "strrev", "hex2bin", "uudecode", "decompress", "urldecode", "decrypt", "pack"),
	}

	langPython = &lang{
		name: "Python", lex: lexPython, stmtEnd: "\n;",
		sources: re(`\brequest\.(?:args|form|values|data|json|get_json|GET|POST|REQUEST|cookies|COOKIES|headers|META|files|FILES|` +
			`body|query_params|query_string|get_data|params|query|forms|POST_dict)\b|\bFieldStorage\s*\(|` +
			`environ(?:\s*\[\s*|\.get\(\s*)['"](?:QUERY_STRING|HTTP_\w+)['"]|\.get_(?:query_|body_)?argument\s*\(`),
		sourceLits: l("request.", "fieldstorage", "environ", ".get_"),
		sinks: []sink{
			{re: re(`(?:^|[^\w.])(eval|exec|execfile)\s*\(`), kind: sinkCode, lits: l("eval", "exec")},
			{re: re(`\b((?:os|posix)\.(?:system|popen[234]?|exec[lv]p?e?|spawn[lv]p?e?)|subprocess\.(?:call|run|Popen|check_output|check_call|getoutput|getstatusoutput)|` +
				`commands\.get(?:status)?output|pty\.spawn|platform\.popen|popen2\.popen[234])\s*\(`), kind: sinkCmd,
				lits: l("os.system", "os.popen", "os.exec", "os.spawn", "posix.system", "posix.popen", "posix.exec", "posix.spawn",
					"subprocess.", "commands.get", "pty.spawn", "platform.popen", "popen2.popen")},
			{re: re(`(?:^|[^\w.])(Popen|check_output|check_call|getoutput|getstatusoutput)\s*\(`), kind: sinkCmd, needs: "subprocess",
				lits: l("popen", "check_", "getoutput", "getstatusoutput")},
			{re: re(`\b(__import__\(\s*['"](?:os|subprocess|commands|pty)['"]\s*\)\s*\.\s*\w+)\s*\(`), kind: sinkCmd, lits: l("__import__")},
		},
		decoders: re(`\b(?:base64\.)?(?:b64decode|b32decode|b16decode|decodebytes|decodestring|a2b_base64|urlsafe_b64decode)\s*\(|` +
			`\b(?:zlib|gzip|bz2|lzma)\.decompress\s*\(|\bcodecs\.decode\s*\(|\bbytes\.fromhex\s*\(|` +
			`\b(?:binascii\.)?unhexlify\s*\(|\.decode\(\s*['"](?:base64|hex|rot.?13|zlib)['"]`),
		decoderLits: l("decode", "a2b_base64", "decompress", "fromhex", "unhexlify"),
	}

	langJSP = &lang{
		name: "JSP", lex: lexTemplate(false, false), stmtEnd: ";",
		sources: re(`\brequest\.get(?:Parameter|ParameterValues|ParameterMap|Header|Headers|InputStream|Reader|QueryString|Cookies|Part|Parts)\s*\(|` +
			`\bpageContext\.getRequest\s*\(`),
		sourceLits: l("request.get", "pagecontext.getrequest"),
		sinks: []sink{
			{re: re(`\b(Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec)\s*\(`), kind: sinkCmd, lits: l("runtime")},
			{re: re(`[\w)]\s*\.\s*(exec)\s*\(`), kind: sinkCmd, needs: "runtime", lits: l("exec")},
			{re: re(`\bnew\s+(ProcessBuilder)\s*\(`), kind: sinkCmd, lits: l("processbuilder")},
			{re: re(`[\w)]\s*\.\s*(command)\s*\(`), kind: sinkCmd, needs: "processbuilder", lits: l("command")},
			{re: re(`[\w)]\s*\.\s*(eval)\s*\(`), kind: sinkCode, needs: "scriptengine", lits: l("eval")},
			{re: re(`[\w)]\s*\.\s*(eval)\s*\(`), kind: sinkCode, needs: "elprocessor", lits: l("eval")},
			{re: re(`\b(defineClass)\s*\(`), kind: sinkLoader, lits: l("defineclass")},
		},
		decoders: re(`\bBase64\s*\.\s*getDecoder\s*\(\s*\)\s*\.\s*decode\s*\(|\bdecodeBuffer\s*\(|\bparseBase64Binary\s*\(|` +
			`\bBase64\s*\.\s*decodeBase64\s*\(|\.doFinal\s*\(|\bCipher\s*\.\s*getInstance\s*\(`),
		decoderLits: l("decode", "parsebase64binary", "dofinal", "cipher"),
	}

	langASP = &lang{
		name: "ASP", fold: true, stmtEnd: ";\n:",
		sources: re(`\brequest\s*\(|\brequest\s*\[|\brequest\.(?:form|querystring|item|params|cookies|servervariables|binaryread|inputstream|headers|files)\b|` +
			`\bhttpcontext\.current\.request\b`),
		sourceLits: l("request"),
		sinks: []sink{
			{re: re(`(?:^|[^a-z0-9_.])(eval|execute|executeglobal)\b`), kind: sinkCode, lits: l("eval", "execute")},
			{re: re(`\b(process\s*\.\s*start)\s*\(`), kind: sinkCmd, lits: l("process")},
			{re: re(`\bnew\s+((?:system\.diagnostics\.)?processstartinfo)\s*\(`), kind: sinkCmd, lits: l("processstartinfo")},
			{re: re(`[\w)]\s*\.\s*(exec|run)\b`), kind: sinkCmd, needs: "wscript.shell", lits: l("exec", "run")},
			{re: re(`\b((?:system\.reflection\.)?assembly\s*\.\s*load)\s*\(`), kind: sinkLoader, lits: l("assembly")},
		},
		decoders:    re(`\bfrombase64string\s*\(|\btransformfinalblock\s*\(|\bcreatedecryptor\s*\(|\bstrreverse\s*\(`),
		decoderLits: l("frombase64string", "transformfinalblock", "createdecryptor", "strreverse"),
	}
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
}

// Reverse shells: a socket connection, descriptors handed to a process and
// a shell to run.
var (
	revConnectLits = l("fsockopen", "socket", "tcpclient")
	revSpawnLits   = l("dup2", "proc_open", "pty.spawn", "processbuilder", "getruntime", "process")
	revShellLits   = l("/bin/", "cmd.exe", "powershell")
	revConnect     = re(`(?i)\bfsockopen\s*\(|\bsocket_create\s*\(|\bsocket\.socket\s*\(|\bnew\s+(?:java\.net\.)?socket\s*\(|\bnew\s+(?:system\.net\.sockets\.)?tcpclient\s*\(`)
	revSpawn       = re(`(?i)\bdup2\s*\(|\bproc_open\s*\(|\bpty\.spawn\s*\(|\bprocessbuilder\s*\(|\bgetruntime\s*\(\s*\)\s*\.\s*exec\s*\(|\bprocess\s*\.\s*start\s*\(`)
	revShell       = re(`(?i)/bin/(?:ba)?sh\b|\bcmd\.exe\b|\bpowershell(?:\.exe)?\b`)
)
