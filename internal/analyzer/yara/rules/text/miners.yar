/* Cryptocurrency miners: binaries, configurations, launchers, droppers. */

rule PKT_Miner_Config : miner
{
    meta:
        author = "Picket"
        description = "Cryptocurrency miner configuration (XMRig-style config.json)"
        severity = "high"
        mitre = "T1496"
    strings:
        $pools = /"pools"\s*:\s*\[/
        $url = /"url"\s*:\s*"[^"]{0,30}[a-z0-9.\-]{3,100}:[0-9]{2,5}"/ nocase
        $user = /"user"\s*:\s*"/
        $k1 = /"donate-le[v]el"\s*:/
        $k2 = /"rando[m]x"\s*:/
        $k3 = /"rig-id"\s*:/
        $k4 = /"algo"\s*:\s*"(rx\/|cn\/|cn-|cryptonig[h]t|rando[m]x|argon2|kawpow|ethash|ghostrider)/ nocase
        $k5 = /"niceh[a]sh"\s*:/
        $k6 = /"huge-pages"\s*:/
        $k7 = /"coin"\s*:\s*"(monero|xmr)"/ nocase
    condition:
        not PKT_Native_Binary and filesize < 512KB and $pools and $url and $user and 2 of ($k*)
}

rule PKT_Miner_Pool_Reference : miner
{
    meta:
        author = "Picket"
        description = "Script or configuration pointing a miner at a mining pool"
        severity = "high"
        mitre = "T1496"
    strings:
        $url = /stratum2?\+(tcp|ssl|tls):\/\/[a-zA-Z0-9.\-]{3,100}:[0-9]{2,5}/
        $cli = /\b(xmrig|xmr-stak|minerd|cpuminer|ccminer|t-rex|nbminer|lolminer|phoenixminer|srbminer)\b[^\n]{0,100}\s(-o|--url)[ =]\S/ nocase
    condition:
        not PKT_Native_Binary and filesize < 5MB and any of them
}

rule PKT_Miner_Pool_Domain : miner
{
    meta:
        author = "Picket"
        description = "Script or configuration naming a well-known Monero mining pool"
        severity = "medium"
        mitre = "T1496"
    strings:
        $p = /(supportxmr\.com|minexmr\.com|xmr\.nanopool\.org|moneroocean\.stream|c3pool\.(com|org)|hashvault\.pro|xmrpool\.eu|monerohash\.com|xmr\.2miners\.com|xmr\.f2pool\.com|herominers\.com|minergate\.com|unmineable\.com|pool\.hashvault\.pro|gulf\.moneroocean\.stream)/ nocase
    condition:
        not PKT_Native_Binary and filesize < 5MB and $p
}

rule PKT_Miner_Dropper_Script : miner dropper
{
    meta:
        author = "Picket"
        description = "Shell script with the habits of cryptojacking droppers (Kinsing, TeamTNT, WatchDog): kills rival miners, disables defences, hides"
        severity = "high"
        mitre = "T1496, T1562.001, T1070.003"
    strings:
        $k1 = /pkill\s+(-9\s+)?-f\s+['"]?(kdevtmpfsi|kinsing|xmrig|minerd|cryptonig[h]t|xmr-stak|sysupdate|networkservice)/ nocase
        $k2 = /kill(all)?\s+(-9\s+)?[^\n]{0,40}(kdevtmpfsi|kinsing|xmrig|minerd|sysguard|dbused)/ nocase
        $k3 = /chattr\s+[-+]i[a]?\s+[^\n]{0,60}(\/etc\/(ld\.so\.preload|crontab|passwd|shadow|hosts)|\.ssh|authorized_keys|\/var\/spool\/cron)/
        $k4 = /echo\s+0\s*>\s*\/proc\/sys\/kernel\/nmi_watchdog/
        $k5 = /(setenforce\s+0|ufw\s+disable|iptables\s+-F|systemctl\s+(stop|disable)\s+(apparmor|firewalld|aliyun))/
        $k6 = /(history\s+-c|unset\s+HISTFILE|HISTFILE=\/dev\/null)/
        $k7 = /(\/tmp|\/var\/tmp|\/dev\/shm)\/\.[a-zA-Z0-9._\-]{1,20}/
        $k8 = /\b(kdevtmpfsi|kinsing|sysupdate|networkservice|sysguard|dbused|watchbog)\b/
        $k9 = /(curl|wget)\s[^\n|]{0,100}\|\s*(ba)?sh\b/
        $k10 = /echo\s+[^\n]{0,100}>>?\s*\/etc\/ld\.so\.preload/
    condition:
        not PKT_Native_Binary and filesize < 2MB and 3 of them
}
