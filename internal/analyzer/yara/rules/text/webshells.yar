/* Web shells: PHP, JSP, ASP and ASP.NET. */

rule PKT_Webshell_China_Chopper : webshell
{
    meta:
        author = "Picket"
        description = "China Chopper one-line web shell (PHP, ASP, ASPX)"
        severity = "critical"
        family = "China Chopper"
        mitre = "T1505.003"
    strings:
        $php = /<\?php\s{0,20}@?\s*(eval|assert)\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)\s*\[\s*['"]?[^\]]{1,40}\]\s*\)\s*;?\s*\?>/ nocase
        $asp = /<%\s*eval\s+request\s*\(\s*"[^"]{1,40}"\s*\)\s*%>/ nocase
        $aspx = /<%@\s*Page\s+Language\s*=\s*"?Jscript"?\s*%>\s*<%\s*eval\s*\(\s*Request\.Item\s*\[\s*"[^"]{1,40}"\s*\]\s*,\s*"unsafe"\s*\)\s*;?\s*%>/ nocase
    condition:
        not PKT_Native_Binary and filesize < 2MB and any of them
}

rule PKT_Webshell_PHP_Request_Exec : webshell
{
    meta:
        author = "Picket"
        description = "PHP code that evaluates or executes request input directly"
        severity = "high"
        mitre = "T1505.003"
    strings:
        $tag = /<\?(php|=|\s)/ nocase
        $x1 = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|create_function)\s*\(\s*(@?\s*(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|stripslashes|urldecode|rawurldecode|hex2bin|trim)\s*\(\s*)*@?\$_(GET|POST|REQUEST|COOKIE|FILES)\s*\[/ nocase
        $x2 = /preg_replace\s*\(\s*['"][^'"]{0,60}\/[a-zA-Z]*e[a-zA-Z]*['"]\s*,\s*[^,]{0,80}\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $x3 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[\s*['"]?[^\]]{1,40}\]\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $x4 = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*`/
        $x5 = /\b(eval|assert)\s*\(\s*[^)]{0,40}\$_SERVER\s*\[\s*['"]HTTP_/ nocase
    condition:
        not PKT_Native_Binary and $tag and any of ($x*)
}

rule PKT_Webshell_PHP_Obfuscated_Eval : webshell
{
    meta:
        author = "Picket"
        description = "PHP that evaluates layered-decoded or long encoded payloads (packed web shell or injected backdoor)"
        severity = "medium"
        mitre = "T1505.003, T1027"
    strings:
        $tag = /<\?(php|=|\s)/ nocase
        $o1 = /\b(eval|assert)\s*\(\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)\s*\(\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)\s*\(/ nocase
        $o2 = /\b(eval|assert)\s*\(\s*(base64_decode|gzinflate|str_rot13)\s*\(\s*['"][A-Za-z0-9+\/=]{200}/ nocase
    condition:
        not PKT_Native_Binary and $tag and any of ($o*)
}

rule PKT_Webshell_PHP_Families : webshell
{
    meta:
        author = "Picket"
        description = "Well-known PHP web shell (c99, r57, b374k, WSO/FilesMan, p0wny, IndoXploit)"
        severity = "critical"
        mitre = "T1505.003"
    strings:
        $tag = /<\?(php|=|\s)/ nocase
        $c99a = "c99sh\x65ll" nocase
        $c99b = "c99sh\x5f" nocase
        $r57 = "r57sh\x65ll" nocase
        $b374k = "b374\x6b" nocase
        $p0wny = "p0wny@s\x68ell"
        $indox = "IndoXplo\x69t"
        $wso1 = "wsoLo\x67in"
        $wso2 = "wsoHe\x61der"
        $wso3 = "wsoSecPa\x72am"
        $wso4 = "FilesM\x61n"
        $wso5 = "wsoE\x78("
        $wso6 = "wsoViewSi\x7ae"
    condition:
        not PKT_Native_Binary and $tag and (any of ($c99*, $r57, $b374k, $p0wny, $indox) or 2 of ($wso*))
}

rule PKT_Webshell_JSP_Cmd : webshell
{
    meta:
        author = "Picket"
        description = "JSP that runs a command taken from the request"
        severity = "high"
        mitre = "T1505.003"
    strings:
        $e1 = /Runtime\.getRuntime\(\)\.exec\s*\(\s*(new\s+String\s*\[\s*\]\s*\{[^}]{0,80})?request\.getParameter\s*\(/
        $e2 = /new\s+ProcessBuilder\s*\([^;]{0,80}request\.getParameter\s*\(/
        $e3 = /Runtime\.getRuntime\(\)\.exec\s*\(\s*[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*\)/
        $param = /request\.getParameter\s*\(\s*"(cmd|command|exec|execute|c|shell|run)"\s*\)/
    condition:
        not PKT_Native_Binary and ($e1 or $e2 or ($e3 and $param))
}

rule PKT_Webshell_JSP_ClassLoader : webshell
{
    meta:
        author = "Picket"
        description = "JSP that decrypts and defines classes from the request (Behinder/Godzilla-style memory shell loader)"
        severity = "critical"
        mitre = "T1505.003, T1620"
    strings:
        $jsp = "<%"
        $cl = /extends\s+ClassLoader/
        $def = /\.defineClass\s*\(/
        $req = /request\.(getReader|getInputStream|getParameter)\s*\(/
        $aes = /Cipher\.getInstance\s*\(\s*"AES/
        $b64 = /(BASE64Decoder|Base64\.getDecoder|base64Decode)/
    condition:
        not PKT_Native_Binary and $jsp and $cl and $def and $req and ($aes or $b64)
}

rule PKT_Webshell_ASP_Cmd : webshell
{
    meta:
        author = "Picket"
        description = "ASP or ASP.NET page that runs a command or evaluates code from the request"
        severity = "high"
        mitre = "T1505.003"
    strings:
        $page = /<%@\s*(Page|WebHandler)\s/ nocase
        $p1 = /(StartInfo\.FileName\s*=|ProcessStartInfo\s*\()\s*"(cmd\.exe|cmd|powershell(\.exe)?|\/bin\/(ba)?sh)"/ nocase
        $args = /\.Arguments\s*=\s*"\/c\s*"\s*\+/ nocase
        $req = /Request(\.Form|\.QueryString|\.Item|\.Params)?\s*\[\s*"[^"]{1,40}"\s*\]/ nocase
        $eval = /eval\s*\(\s*Request(\.Item|\.Form)?\s*\[/ nocase
        $wsh = /CreateObject\s*\(\s*"WScript\.Shell"\s*\)[^\n]{0,100}\.(Exec|Run)\s*\([^)]{0,60}Request/ nocase
    condition:
        not PKT_Native_Binary and (($page and ((($p1 or $args) and $req) or $eval)) or $wsh)
}
