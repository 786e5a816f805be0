#!/bin/sh
# The systemd unit of ivc-rendezvousd, as systemd would run it (in sim;
# no systemd needed): its ExecStartPre and ExecStart, with the unit's
# arguments and the build's binaries; readiness by sd_notify's protocol
# (Type=notify: READY=1 on $NOTIFY_SOCKET, and only once /rendezvous/
# daemon is there); ExecReload (SIGHUP) keeps it serving with the policy
# read again; SIGTERM (systemd's stop) ends it cleanly. And the unit file
# itself passes `systemd-analyze verify` where that exists.
# usage: test-unit.sh IVC_SIM UNIT_FILE BUILD_DIR
set -u
SIM=$1
UNIT=$2
B=$3
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
command -v xenstore-ls >/dev/null || { echo "SKIP: xenstore-utils needed"; exit 77; }
. "$(dirname "$0")/../lib/sim-lib.sh"
. "$(dirname "$0")/../lib/broker-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"

# A unit line's command, its installed path replaced by the build's.
cmd_of() {
	sed -n "s/^$1=//p" "$UNIT" | sed -e "s#^[^ ]*/mkrenddir#$B/mkrenddir/mkrenddir#" \
		-e "s#^[^ ]*/ivc-rendezvousd#$B/rendezvous/ivc-rendezvousd#"
}
check "the unit is Type=notify, restarts on failure, reloads with SIGHUP" \
	sh -c "grep -qx 'Type=notify' '$UNIT' && grep -qx 'Restart=on-failure' '$UNIT' && grep -q '^ExecReload=.*kill -HUP \\\$MAINPID' '$UNIT'"
pre=$(cmd_of ExecStartPre)
start=$(cmd_of ExecStart)
check "ExecStartPre is mkrenddir, ExecStart the daemon in the foreground: $pre; $start" \
	sh -c "echo '$pre' | grep -q '/mkrenddir/mkrenddir' && echo '$start' | grep -q 'ivc-rendezvousd -f'"

sim_start >/dev/null || { bad "host start"; finish; exit 1; }
# $NOTIFY_SOCKET: a datagram socket whose first message is kept, with
# whether /rendezvous/daemon existed when it came.
sock=$OUT/notify
python3 - "$sock" "$OUT/ready" "$IVC_SIM_DIR/xs/dom0.sock" <<'PYEOF' &
import os, socket, subprocess, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    msg = s.recv(256).decode()
except socket.timeout:
    msg = "(nothing)"
env = dict(os.environ, XENSTORED_PATH=sys.argv[3])
there = subprocess.run(["xenstore-exists", "/rendezvous/daemon"], env=env).returncode == 0
open(sys.argv[2], "w").write("%s daemon-node=%s\n" % (msg, "yes" if there else "no"))
PYEOF
py=$!
for _k in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
# shellcheck disable=SC2086
dom 0 $pre
check "ExecStartPre (mkrenddir -q) makes /rendezvous" [ $? = 0 ]
# shellcheck disable=SC2086
NOTIFY_SOCKET=$sock dom 0 $start >"$OUT/rdvd.log" 2>&1 &
rdvd_job=$!
wait $py
r=$(cat "$OUT/ready" 2>/dev/null)
check "READY=1 on \$NOTIFY_SOCKET, once it serves: $r" [ "$r" = "READY=1 daemon-node=yes" ]
kill -HUP "$(rdvd_pid)"
for _k in $(seq 100); do grep -q 'policy reloaded' "$OUT/rdvd.log" && break; sleep 0.05; done
check "ExecReload (SIGHUP): the policy read again, the daemon still serving" \
	sh -c "grep -q 'policy reloaded' '$OUT/rdvd.log' && kill -0 $(rdvd_pid)"
kill -TERM "$(rdvd_pid)"
wait $rdvd_job
rc=$?
check "stop (SIGTERM): exit 0 ($rc), /rendezvous/daemon removed" \
	sh -c "[ $rc = 0 ] && ! XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock xenstore-exists /rendezvous/daemon"
[ $rc = 0 ] || sed 's/^/# /' "$OUT/rdvd.log"
if command -v systemd-analyze >/dev/null; then
	# Only what is about the file itself: this host may lack the man
	# pages, the installed binaries or a running systemd.
	v=$(systemd-analyze verify "$UNIT" 2>&1 | grep -i -e 'unknown' -e 'failed to parse' \
		-e 'invalid' -e 'missing' -e 'ignoring' | grep -v -e 'man ' -e 'not executable' -e 'sysinit.target')
	check "systemd-analyze verify: nothing wrong in the unit file${v:+: $v}" [ -z "$v" ]
fi
check "nothing left on the host" clean
finish
