/* Cryptocurrency miners (native binaries). */

rule PKT_Miner_XMRig_Binary : miner
{
    meta:
        author = "Picket"
        description = "XMRig cryptocurrency miner"
        severity = "high"
        family = "XMRig"
        mitre = "T1496"
        reference = "https://xmrig.com/docs/miner"
    strings:
        $name = "xm\x72ig" nocase
        $s1 = "donate-le\x76el"
        $s2 = "cryptonig\x68t" nocase
        $s3 = "rand\x6fmx" nocase
        $s4 = "stratum\x2btcp://"
        $s5 = "nic\x65hash"
        $s6 = "cpu-max-threads-\x68int"
        $s7 = "donate.v2.xm\x72ig.com"
    condition:
        PKT_Native_Binary and $name and 3 of ($s*)
}

rule PKT_Miner_Stratum_Binary : miner
{
    meta:
        author = "Picket"
        description = "Executable speaking the Stratum mining protocol (CPU/GPU miner)"
        severity = "high"
        mitre = "T1496"
    strings:
        $url = /stratum2?\+(tcp|ssl|tls):\/\//
        $m1 = "mining.subscri\x62e"
        $m2 = "mining.autho\x72ize"
        $m3 = "mining.noti\x66y"
        $m4 = "mining.sub\x6dit"
        $m5 = "mining.set_diff\x69culty"
    condition:
        PKT_Native_Binary and (($url and 2 of ($m*)) or 4 of ($m*))
}
