package elf

import (
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
)

// category groups indicators that add up to one finding.
type category int

const (
	catPacker category = iota
	catMiner
	catRootkit
	catBackdoor
	catMeta // facts about the binary, never a finding by themselves
)

// indicator is a byte string whose presence in a binary adds weight to a
// category. Patterns match without regard to ASCII case unless exact.
type indicator struct {
	pat    string
	cat    category
	weight int
	exact  bool
	label  string // how the finding names it; the pattern when empty
}

// mask is removed from catalogue strings when the catalogue is built. The
// strongest indicators are written with it so that Picket's own binary, which
// carries this catalogue, does not look like a miner or a rootkit to itself
// or to other scanners.
const mask = "|"

// Labels of indicators that other code checks for.
const (
	labelUPXMagic = "UPX! magic"
	labelGoBuild  = "Go build info"
	labelPreload  = "preload file path"
	labelTracer   = "tracer check"
)

var catalogue = []indicator{
	// Packers. "UPX!" is only counted near the start or the end of the file
	// (the l_info and PackHeader structures), see packerScore.
	{pat: "UP|X!", cat: catPacker, weight: 0, exact: true, label: labelUPXMagic},
	{pat: "$Info: This file is packed with the U|PX", cat: catPacker, weight: 5, label: "UPX $Info banner"},
	{pat: "$Id: U|PX ", cat: catPacker, weight: 3, label: "UPX $Id banner"},

	// Crypto-miners: pool protocol, XMRig and its options, public pools (3);
	// algorithm names that also appear in wallets and libraries (1).
	{pat: "stratum+|tcp://", cat: catMiner, weight: 3},
	{pat: "stratum+|ssl://", cat: catMiner, weight: 3},
	{pat: "stratum+|tls://", cat: catMiner, weight: 3},
	{pat: "stratum1+|tcp://", cat: catMiner, weight: 3},
	{pat: "stratum2+|tcp://", cat: catMiner, weight: 3},
	{pat: "mining.|subscribe", cat: catMiner, weight: 3},
	{pat: "mining.|authorize", cat: catMiner, weight: 3},
	{pat: "--donate|-level", cat: catMiner, weight: 3},
	{pat: "donate.v2.xm|rig.com", cat: catMiner, weight: 3},
	{pat: "xm|rig", cat: catMiner, weight: 3},
	{pat: "xmr-|stak", cat: catMiner, weight: 3},
	{pat: "cpu|miner", cat: catMiner, weight: 3},
	{pat: "eth|miner", cat: catMiner, weight: 3},
	{pat: "nb|miner", cat: catMiner, weight: 3},
	{pat: "lol|miner", cat: catMiner, weight: 3},
	{pat: "kdevtm|pfsi", cat: catMiner, weight: 3},
	{pat: "minex|mr.com", cat: catMiner, weight: 3},
	{pat: "support|xmr.com", cat: catMiner, weight: 3},
	{pat: "monero|ocean.stream", cat: catMiner, weight: 3},
	{pat: "c3|pool.com", cat: catMiner, weight: 3},
	{pat: "nano|pool.org", cat: catMiner, weight: 3},
	{pat: "hash|vault.pro", cat: catMiner, weight: 3},
	{pat: "nice|hash.com", cat: catMiner, weight: 3},
	{pat: "2mi|ners.com", cat: catMiner, weight: 3},
	{pat: "hero|miners.com", cat: catMiner, weight: 3},
	{pat: "un|mineable.com", cat: catMiner, weight: 3},
	{pat: "crypto|night", cat: catMiner, weight: 1},
	{pat: "random|x", cat: catMiner, weight: 1},
	{pat: "hash|rate", cat: catMiner, weight: 1},

	// LD_PRELOAD and ptrace rootkits. Hooked libc symbols come from the
	// dynamic symbol table, see rootkitScore.
	{pat: "/etc/ld.so.|preload", cat: catRootkit, weight: 2, label: labelPreload},
	{pat: "LD_PRE|LOAD", cat: catRootkit, weight: 1, exact: true, label: "preload variable"},
	{pat: "Tracer|Pid", cat: catRootkit, weight: 1, exact: true, label: labelTracer},
	{pat: "libprocess|hider", cat: catRootkit, weight: 3},
	{pat: "process_to|_filter", cat: catRootkit, weight: 3},
	{pat: "jynx|kit", cat: catRootkit, weight: 3},
	{pat: "aza|zel", cat: catRootkit, weight: 3},
	{pat: "vla|ny", cat: catRootkit, weight: 3},
	{pat: "bd|vl_", cat: catRootkit, weight: 3},
	{pat: "beu|rk", cat: catRootkit, weight: 3},
	{pat: "diamor|phine", cat: catRootkit, weight: 3},
	{pat: "rept|ile_", cat: catRootkit, weight: 3},
	{pat: "umbr|eon", cat: catRootkit, weight: 3},
	{pat: "suter|usu", cat: catRootkit, weight: 3},

	// Reverse shells, history wiping, process-name masquerading and the
	// BPFDoor raw-socket backdoor.
	{pat: "/dev/|tcp/", cat: catBackdoor, weight: 2},
	{pat: "bash |-i", cat: catBackdoor, weight: 2},
	{pat: "/bin/sh |-i", cat: catBackdoor, weight: 2},
	{pat: "0>|&1", cat: catBackdoor, weight: 2},
	{pat: "nc |-e ", cat: catBackdoor, weight: 2},
	{pat: "ncat |-e ", cat: catBackdoor, weight: 2},
	{pat: "socat |exec:", cat: catBackdoor, weight: 2},
	{pat: "mkfifo |/tmp/", cat: catBackdoor, weight: 2},
	{pat: "pty.|spawn(", cat: catBackdoor, weight: 2},
	{pat: "HISTFILE=|/dev/null", cat: catBackdoor, weight: 3},
	{pat: "unset |HISTFILE", cat: catBackdoor, weight: 2},
	{pat: "[kwor|ker/", cat: catBackdoor, weight: 2},
	{pat: "haldr|und.pid", cat: catBackdoor, weight: 4},
	{pat: "kdmtm|pflush", cat: catBackdoor, weight: 4},
	{pat: "qmgr -l -t |fifo -u", cat: catBackdoor, weight: 4},

	{pat: "\xff Go build|inf:", cat: catMeta, exact: true, label: labelGoBuild},
}

// indicators is the unmasked catalogue; strMatcher finds all of its
// patterns. They are built on first use, not at program start.
var (
	indicators []indicator
	strMatcher = sync.OnceValue(func() *ahocorasick.Matcher {
		indicators = make([]indicator, len(catalogue))
		pats := make([]string, len(catalogue))
		exact := make([]bool, len(catalogue))
		for i, ind := range catalogue {
			ind.pat = strings.ReplaceAll(ind.pat, mask, "")
			if ind.label == "" {
				ind.label = ind.pat
			}
			indicators[i] = ind
			pats[i] = ind.pat
			exact[i] = ind.exact
		}
		return ahocorasick.New(pats, exact)
	})
	// literals is the unmasked catalogue for the scanner's shared search.
	literals = sync.OnceValue(func() []analyzer.Literal {
		strMatcher() // builds indicators
		out := make([]analyzer.Literal, len(indicators))
		for i, ind := range indicators {
			out[i] = analyzer.Literal{Text: ind.pat, Exact: ind.exact}
		}
		return out
	})
)

// hookedSymbols are libc functions LD_PRELOAD rootkits define to hide files,
// processes, connections and users. The directory readers carry most weight:
// hiding entries of /proc is what such rootkits are for.
var hookedSymbols = map[string]int{
	"readdir": 3, "readdir64": 3, "readdir_r": 3, "readdir64_r": 3,
	"opendir": 1, "fopen": 1, "fopen64": 1, "open": 1, "open64": 1,
	"stat": 1, "lstat": 1, "__xstat": 1, "__lxstat": 1, "__xstat64": 1, "__lxstat64": 1,
	"access": 1, "unlink": 1, "kill": 1, "accept": 1,
	"pam_authenticate": 1, "pam_acct_mgmt": 1, "getpwnam": 1, "getspnam": 1,
	"pcap_loop": 1, "recvmsg": 1, "execve": 1,
}

// ioSymbols are functions that tracers, profilers and sandboxes interpose
// in bulk and rootkits have no use for: a library defining many of them is
// a general interposer (gprofng, fakechroot, ...), not a rootkit.
var ioSymbols = map[string]bool{
	"read": true, "write": true, "close": true, "fread": true, "fwrite": true, "fclose": true,
	"lseek": true, "lseek64": true, "pread": true, "pwrite": true, "pread64": true, "pwrite64": true,
	"fsync": true, "dup": true, "dup2": true, "fgets": true, "fputs": true, "fflush": true,
	"readv": true, "writev": true, "fdopen": true, "creat": true, "mkstemp": true,
}

// minIOSymbols is how many ioSymbols make a general interposer.
const minIOSymbols = 6
