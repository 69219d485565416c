#!/bin/sh
# Restarts the machine's dockerd for TestSurvivesDockerdRestart (make test
# runs it last, alone): through systemd or service(8) when they manage it,
# else by stopping the process and starting it again with the same command
# line, as this project's machines run it (a plain background process,
# logging to /var/log/dockerd.log).
set -eu
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
	exec systemctl restart docker
fi
pid=$(pgrep -x dockerd) || { echo "restart-dockerd: no dockerd running" >&2; exit 1; }
# Its command line, to start it again the same way (arguments with spaces
# are not supported).
cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 0.2
	i=$((i + 1))
	[ "$i" -lt 300 ] || { echo "restart-dockerd: dockerd $pid did not stop" >&2; exit 1; }
done
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	setsid $cmd >>/var/log/dockerd.log 2>&1 </dev/null &
