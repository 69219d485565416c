/* Persistence through the dynamic loader. */

rule PKT_Persistence_LD_SO_Preload : persistence
{
    meta:
        author = "Picket"
        description = "/etc/ld.so.preload loads a library into every process (a common userland rootkit hook)"
        severity = "medium"
        mitre = "T1574.006"
    strings:
        $lib = /(^|\s)\/[^\s]{1,100}\.so/
    condition:
        filename == "ld.so.preload" and filepath == "/etc" and $lib
}
