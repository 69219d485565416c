/* Reverse and bind shells: one-liners in scripts and source files. */

rule PKT_RevShell_Bash_DevTcp : reverse_shell
{
    meta:
        author = "Picket"
        description = "Shell redirected to a network socket through /dev/tcp (bash reverse shell)"
        severity = "high"
        mitre = "T1059.004"
    strings:
        $a = /(ba|z|k|da)?sh\s+-i\s*[0-9]?>&\s*\/dev\/(tcp|udp)\/[^\/\s]{1,100}\/[0-9]{1,5}/
        $b = /\/dev\/(tcp|udp)\/[^\/\s]{1,100}\/[0-9]{1,5}\s*0>&1/
        $c = /exec\s+[0-9]{1,3}<>\s*\/dev\/(tcp|udp)\/[^\/\s]{1,100}\/[0-9]{1,5}/
        // "exec 3<>/dev/tcp/host/port" alone is also a health-check idiom:
        // only a shell wired to the descriptor makes it a reverse shell.
        $c_sh = /sh\s+<&\s*[0-9]{1,3}\s*>&\s*[0-9]{1,3}\s*2>&\s*[0-9]{1,3}/
    condition:
        not PKT_Native_Binary and ($a or $b or ($c and $c_sh))
}

rule PKT_RevShell_Netcat : reverse_shell
{
    meta:
        author = "Picket"
        description = "Netcat or a FIFO piping a shell to the network (nc -e, mkfifo | nc)"
        severity = "high"
        mitre = "T1059.004"
    strings:
        $e1 = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s+-[a-zA-Z]*[ec]\s*['"]?\/bin\/(ba|z|da)?sh\b/
        $e2 = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n;|&]{0,100}\s-[a-zA-Z]*[ec]\s*['"]?\/bin\/(ba|z|da)?sh\b/
        $e3 = /\bncat\b[^\n]{0,100}--(sh-)?exec[ =]\s*['"]?(\/bin\/)?(ba|z|da)?sh\b/
        $f1 = /mkfifo\s+\S{1,64}[^\n]{0,80}(ba|da)?sh\s+-i[^\n]{0,80}\|\s*(nc|ncat|netcat|telnet|openssl\s+s_client)\b/
        $f2 = /mknod\s+\S{1,64}\s+p[^\n]{0,80}\b(nc|ncat|netcat|telnet)\b[^\n]{0,80}\/bin\/(ba|da)?sh/
    condition:
        not PKT_Native_Binary and any of them
}

rule PKT_RevShell_Socat : reverse_shell
{
    meta:
        author = "Picket"
        description = "socat connecting a shell to the network"
        severity = "high"
        mitre = "T1059.004"
    strings:
        $exec = /socat\s[^\n]{0,100}(exec|system):['"]?(\/bin\/)?(ba|z|da)?sh\b/ nocase
        $net = /socat\s[^\n]{0,100}(tcp[46]?|udp[46]?|openssl|ssl)(-connect|-listen|-l)?:[^\s,'"]{1,100}/ nocase
    condition:
        not PKT_Native_Binary and $exec and $net
}

rule PKT_RevShell_Python : reverse_shell
{
    meta:
        author = "Picket"
        description = "Python reverse shell: socket duplicated onto stdio, then a shell"
        severity = "high"
        mitre = "T1059.006"
    strings:
        $sock = /socket\.socket\(/
        $conn = /\.connect\(\(\s*['"]?[a-zA-Z0-9.\-]{1,100}['"]?\s*,\s*[0-9]{1,5}\s*\)\)/
        $dup = /os\.dup2\(\s*[a-zA-Z_][a-zA-Z0-9_.]{0,40}\.fileno\(\)\s*,\s*[a-zA-Z0-9_]{1,10}\s*\)/
        $sh1 = /pty\.spawn\(\s*['"](\/bin\/)?(ba|z|da)?sh['"]/
        $sh2 = /subprocess\.(call|Popen|run|check_call)\(\s*\[\s*['"](\/bin\/)?(ba|z|da)?sh['"]/
        $sh3 = /os\.(system|execl?p?)\(\s*['"](\/bin\/)?(ba|z|da)?sh/
    condition:
        not PKT_Native_Binary and $dup and ($conn or $sock) and any of ($sh*)
}

rule PKT_RevShell_Perl : reverse_shell
{
    meta:
        author = "Picket"
        description = "Perl reverse shell: socket opened onto STDIN/STDOUT, then a shell"
        severity = "high"
        mitre = "T1059"
    strings:
        $sock = /socket\s*\(\s*\w{1,32}\s*,\s*PF_INET\s*,\s*SOCK_STREAM/
        $conn = /connect\s*\(\s*\w{1,32}\s*,\s*sockaddr_in\s*\(/
        $open = /open\s*\(\s*STD(IN|OUT|ERR)\s*,\s*['"]\s*\+?[<>]&/
        $exec = /exec\s*\(?\s*['"](\/bin\/)?(ba|z|da)?sh(\s+-i)?['"]/
    condition:
        not PKT_Native_Binary and $open and $exec and ($sock or $conn)
}

rule PKT_RevShell_PHP : reverse_shell
{
    meta:
        author = "Picket"
        description = "PHP reverse shell (fsockopen then a shell on the socket; pentestmonkey's php-reverse-shell)"
        severity = "high"
        mitre = "T1059"
    strings:
        $fs = /fsockopen\s*\(\s*['"$][^)]{0,80}\)/
        $ex = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*['"](\/bin\/)?(ba|z|da)?sh\s+-i\s*<&\s*[0-9]/
        $pm = /\$shell\s*=\s*['"]uname -a; w; id; \/bin\/(ba)?sh -i['"]/
    condition:
        not PKT_Native_Binary and (($fs and $ex) or ($fs and $pm))
}

rule PKT_RevShell_Ruby_Lua : reverse_shell
{
    meta:
        author = "Picket"
        description = "Ruby or Lua reverse shell"
        severity = "high"
        mitre = "T1059"
    strings:
        $rb1 = /TCPSocket\.(open|new)\s*\(/
        $rb2 = /exec\s+sprintf\s*\(\s*['"](\/bin\/)?(ba)?sh\s+-i\s*<&%d/
        $lua1 = /require\s*\(?\s*['"]socket['"]/
        $lua2 = /\.connect\s*\([^)]{1,80}\)[^\n]{0,100}(io\.popen|os\.execute)\s*\(/
    condition:
        not PKT_Native_Binary and (($rb1 and $rb2) or ($lua1 and $lua2))
}
