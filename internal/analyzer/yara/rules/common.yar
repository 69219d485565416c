/*
    Picket default YARA rules: shared private rules.

    Every default rule lives in the namespace "picket" and compiles together
    with these helpers. The rule sources are embedded in the picket binary,
    so they must never match themselves (a test checks it): strings that
    rules look for in native binaries are written with one escaped character
    ("xm\x72ig" for the miner's name), and the same words in other rules'
    regular expressions with a character class ("rando[m]x").
*/

private rule PKT_Native_Binary
{
    meta:
        description = "ELF, PE or Mach-O executable"
    condition:
        uint32(0) == 0x464c457f or uint16(0) == 0x5a4d or
        uint32(0) == 0xfeedface or uint32(0) == 0xcefaedfe or
        uint32(0) == 0xfeedfacf or uint32(0) == 0xcffaedfe
}

private rule PKT_ELF
{
    meta:
        description = "ELF file"
    condition:
        uint32(0) == 0x464c457f
}
