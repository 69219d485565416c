package candidates

import (
	"io/fs"
	"testing"
)

func TestWanted(t *testing.T) {
	for _, c := range []struct {
		path string
		mode fs.FileMode
		want bool
	}{
		{"/usr/bin/ls", 0o755, true},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0o644, true},
		{"/usr/lib/libfoo.so", 0o644, true},
		{"/lib/modules/6.1/extra/rk.ko", 0o644, true},
		{"/var/www/html/index.php", 0o644, true},
		{"/var/www/html/style.css", 0o644, true},
		{"/app/UPLOAD.PHP5", 0o644, true},
		{"/app/run.sh", 0o644, true},
		{"/app/tool.py", 0o644, true},
		{"/tmp/anything", 0o644, true},
		{"/dev/shm/.x", 0o644, true},
		{"/root/notes", 0o644, true},
		{"/etc/ld.so.preload", 0o644, true},
		{"/etc/rc.local", 0o644, true},
		{"/etc/cron.d/job", 0o644, true},
		{"/etc/systemd/system/evil.service", 0o644, true},
		{"/opt/app/config.json", 0o644, true},
		{"/opt/x/xmrig-notls", 0o644, true},
		{"/opt/xmrig-6.21/README", 0o644, false},
		{"/data/eicar.txt", 0o644, true},
		{"/usr/lib/.hidden/payload", 0o644, true},
		{"/usr/share/doc/bash/README", 0o644, false},
		{"/usr/share/locale/de/LC_MESSAGES/x.mo", 0o644, false},
		{"/etc/passwd", 0o644, false},
		{"/app/package.json", 0o644, false},
		{"/app/.git/objects/ab/cdef", 0o644, false},
		{"/home/u/src/.git/objects/ab/cdef", 0o644, false},
		{"/usr/bin/dir", fs.ModeDir | 0o755, false},
		{"/tmp/link", fs.ModeSymlink | 0o777, false},
		{"/tmp/fifo", fs.ModeNamedPipe | 0o644, false},
	} {
		if got := Wanted(c.path, c.mode); got != c.want {
			t.Errorf("Wanted(%s, %v) = %v", c.path, c.mode, got)
		}
	}
}
