/* Linux botnets and rootkits (native binaries). */

rule PKT_Botnet_Mirai : botnet
{
    meta:
        author = "Picket"
        description = "Mirai IoT botnet: its default-credential table, XOR-encoded with 0x22 (root/xc3511, root/vizxv, admin/admin, support/support, root/xmhdipc, root/juantech)"
        severity = "critical"
        family = "Mirai"
        mitre = "T1110.001, T1498"
    strings:
        $c1 = "\x00PMMV\x00"
        $c2 = "ZA\x11\x17\x13\x13\x00"
        $c3 = "TKXZ\x54\x00"
        $c4 = "CFOK\x4c\x00"
        $c5 = "QWRRMP\x56\x00"
        $c6 = "ZOJFKR\x41\x00"
        $c7 = "HWCLVGA\x4a\x00"
    condition:
        PKT_ELF and 4 of them
}

rule PKT_Botnet_Gafgyt : botnet
{
    meta:
        author = "Picket"
        description = "Gafgyt/Bashlite IoT botnet command strings"
        severity = "critical"
        family = "Gafgyt"
        mitre = "T1498"
    strings:
        $g1 = "LOLNOGT\x46O"
        $g2 = "KILLAT\x54K"
        $g3 = "GETLOCAL\x49P"
        $g4 = "SCANNER O\x4e"
        $g5 = "\\147\\141\\171\\146\\147\\16\x34"
    condition:
        PKT_ELF and 3 of them
}

rule PKT_Botnet_Kaiten : botnet
{
    meta:
        author = "Picket"
        description = "Kaiten/Tsunami IRC DDoS bot"
        severity = "critical"
        family = "Kaiten"
        mitre = "T1498, T1071.003"
    strings:
        $k1 = "Kaiten wa gora\x6bu"
        $k2 = "GETSPOO\x46S"
        $k3 = "TSUNAMI <tar\x67et>"
        $k4 = "NOTICE %s :KILLAL\x4c"
        $k5 = "NOTICE %s :PAN <tar\x67et>"
    condition:
        PKT_ELF and 2 of them
}

rule PKT_Rootkit_LibProcessHider : rootkit
{
    meta:
        author = "Picket"
        description = "libprocesshider-style LD_PRELOAD rootkit: hooks readdir to hide a process from /proc"
        severity = "critical"
        family = "libprocesshider"
        mitre = "T1574.006, T1014"
        reference = "https://github.com/gianlucaborello/libprocesshider"
    strings:
        $a = "/proc/self/fd/\x25d"
        $b = "/proc/\x25s/stat"
        $c = "\x25d (\x25[^)]s"
        $d = "Error in dlsym: \x25s"
        $r = "readdi\x72"
    condition:
        PKT_ELF and filesize < 1MB and all of them
}

rule PKT_Rootkit_Kernel_Module : rootkit
{
    meta:
        author = "Picket"
        description = "Linux kernel-module rootkit (Diamorphine, Reptile and their forks)"
        severity = "critical"
        mitre = "T1547.006, T1014"
    strings:
        $dia1 = "diamorphine_s\x65cret"
        $dia2 = "hacked_getdent\x73"
        $dia3 = "hacked_kil\x6c"
        $dia4 = "module_hid\x65"
        $rep1 = "reptile_c\x6dd"
        $rep2 = "reptile_s\x68ell"
        $rep3 = "reptile_s\x74art"
    condition:
        PKT_ELF and ($dia1 or 3 of ($dia*) or 2 of ($rep*))
}
