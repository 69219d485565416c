/* Shell payloads, tunnelling tools and C2 implants in native binaries. */

rule PKT_RevShell_Tiny_ELF : reverse_shell backdoor
{
    meta:
        author = "Picket"
        description = "Tiny ELF that runs a shell through raw system calls (msfvenom-style shell payload)"
        severity = "high"
        mitre = "T1059.004"
    strings:
        $msf_x64_socket = { 6a 29 58 99 6a 02 5f 6a 01 5e 0f 05 }   // push 0x29; pop rax; cdq; push 2; pop rdi; push 1; pop rsi; syscall
        $binsh1 = { 2f 62 69 6e 2f 2f 73 68 }                        // "/bin//sh"
        $binsh2 = { 2f 62 69 6e 2f 73 68 00 }                        // "/bin/sh\0"
    condition:
        // The two-byte syscall instructions (0f 05, cd 80) are looked for
        // with a loop over the few bytes of a tiny file, not as strings:
        // as strings they would be searched for in every file scanned.
        PKT_ELF and filesize < 16KB and
        ($msf_x64_socket or (filesize < 4KB and 1 of ($binsh*) and
            for any i in (0..filesize - 2): (uint16(i) == 0x050f or uint16(i) == 0x80cd)))
}

rule PKT_HackTool_Tunnel : hacktool
{
    meta:
        author = "Picket"
        description = "Tunnelling/remote access tool often used to reach into or out of a compromised container (chisel, frp, gsocket)"
        severity = "medium"
        mitre = "T1572"
    strings:
        $chisel = "github.com/jpillora/chi\x73el/"
        $frp = "github.com/fatedier/f\x72p/"
        $gs1 = "gs-net\x63at"
        $gs2 = "GSOC\x4bET"
    condition:
        PKT_Native_Binary and ($chisel or $frp or all of ($gs*))
}

rule PKT_Backdoor_C2_Implant : backdoor
{
    meta:
        author = "Picket"
        description = "Command-and-control implant (Sliver, Merlin)"
        severity = "critical"
        mitre = "T1071"
    strings:
        $sliver = "github.com/bishopfox/sli\x76er/"
        $merlin = "github.com/Ne0nd0g/me\x72lin"
    condition:
        PKT_Native_Binary and any of them
}
