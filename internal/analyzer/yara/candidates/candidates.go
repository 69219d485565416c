// Package candidates decides, from a file's path and mode alone, whether a
// malware analyzer (YARA rules, hash blocklists) should look at it: it runs
// for every file of every layer, so it must be cheap, and it must keep the
// bulk of an image (documentation, locales, headers, package data) out.
//
// A file is a candidate when it is
//   - executable (any x bit),
//   - a script, web page handler, binary or library by its name (.sh, .py,
//     .pl, .rb, .php*, .phtml, .jsp*, .asp*, .cgi, .ps1, .exe, .dll, .so,
//     .ko, .elf, .bin, .com, ...),
//   - in a place where malware is dropped or persists: temporary directories
//     (/tmp, /var/tmp, /dev/shm, /run), home directories (/root, /home),
//     web roots (/var/www, /srv, nginx, Apache, Tomcat), cron, init and
//     systemd directories, /etc/profile.d, /etc/rc.local, /etc/ld.so.preload,
//   - hidden (a path component starting with "."; .git directories aside),
//   - named like a miner configuration (config.json, *xmrig*, *miner*) or like
//     the EICAR test file (*eicar*).
package candidates

import (
	"io/fs"
	"path"
	"strings"
)

// extensions are scripts, server-side pages and native code.
var extensions = map[string]bool{
	".sh": true, ".bash": true, ".zsh": true, ".ksh": true, ".csh": true,
	".py": true, ".pl": true, ".rb": true, ".lua": true, ".tcl": true,
	".php": true, ".php3": true, ".php4": true, ".php5": true, ".php7": true, ".php8": true,
	".phtml": true, ".phar": true, ".pht": true, ".phps": true,
	".jsp": true, ".jspx": true, ".jspf": true,
	".asp": true, ".aspx": true, ".ashx": true, ".asmx": true, ".ascx": true, ".cshtml": true,
	".cfm": true, ".cgi": true,
	".ps1": true, ".bat": true, ".cmd": true, ".vbs": true,
	".exe": true, ".dll": true, ".so": true, ".ko": true, ".elf": true, ".bin": true,
	".com": true, ".run": true, ".out": true,
}

// dirs are prefixes of places where droppers, webshells and persistence live.
var dirs = []string{
	"/tmp/", "/var/tmp/", "/dev/shm/", "/run/", "/var/run/",
	"/root/", "/home/",
	"/var/www/", "/srv/", "/usr/share/nginx/", "/usr/local/apache2/htdocs/",
	"/usr/local/tomcat/webapps/", "/var/lib/tomcat", "/opt/tomcat/webapps/",
	"/etc/cron", "/var/spool/cron/", "/etc/init.d/", "/etc/rc.d/", "/etc/profile.d/",
	"/etc/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/",
	"/etc/update-motd.d/",
}

// names are exact base names worth a look wherever they are.
var names = map[string]bool{
	"ld.so.preload": true, "rc.local": true, "crontab": true, "config.json": true,
	"authorized_keys": true, ".bashrc": true, ".profile": true,
}

// Wanted reports whether the file at p (absolute, cleaned) with mode is a
// candidate. It does not look at the size: callers apply their own limit.
func Wanted(p string, mode fs.FileMode) bool {
	if !mode.IsRegular() {
		return false
	}
	if mode&0o111 != 0 {
		return true
	}
	base := path.Base(p)
	if names[base] {
		return true
	}
	lower := strings.ToLower(base)
	if extensions[path.Ext(lower)] || isSharedLib(lower) {
		return true
	}
	if strings.Contains(lower, "eicar") || strings.Contains(lower, "xmrig") || strings.Contains(lower, "miner") {
		return true
	}
	if p == "/etc/ld.so.preload" || p == "/etc/rc.local" {
		return true
	}
	for _, d := range dirs {
		if strings.HasPrefix(p, d) {
			return !strings.Contains(p, "/.git/")
		}
	}
	return hidden(p)
}

// isSharedLib recognises versioned shared objects ("libc.so.6").
func isSharedLib(base string) bool {
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.")
}

// hidden reports whether a component of p starts with a dot, except inside
// .git directories (object stores, not droppers).
func hidden(p string) bool {
	if strings.Contains(p, "/.git/") {
		return false
	}
	return strings.Contains(p, "/.")
}
