rule PKT_EICAR_Test_File : test
{
    meta:
        author = "Picket"
        description = "EICAR anti-malware test file"
        severity = "high"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        // The standard 68-byte test string; the file may be padded with
        // whitespace up to 128 bytes.
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar at 0 and filesize <= 128
}
