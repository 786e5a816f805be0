# Shared by the brokered-mode test scripts (sourced after sim-lib.sh):
# XenStore as dom0 sees it, and ivc-rendezvousd started, found and
# checked. Expects $RDVD (the daemon) and $OUT (a scratch directory).

# XenStore as dom0 sees it: xs0 TOOL ARGS... runs xenstore-TOOL.
xs0() {
	tool=$1
	shift
	XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock "xenstore-$tool" "$@"
}

# Starts the daemon (extra arguments are its own) once /rendezvous is
# made; returns when it serves: when /rendezvous/daemon names a live
# process (a daemon that was killed left its own pid there). Its log:
# $OUT/rdvd.log. The daemon is a service: it lives as long as the test
# (the host stops it when the script ends), not one scenario's $LIMIT; a
# whole test run slower than that (a loaded machine, a sanitizer build)
# had its daemon killed half way and every later step failed.
rdvd_start() {
	LIMIT=${IVC_TEST_DAEMON_LIMIT_S:-3600} dom 0 "$RDVD" -f -v "$@" >>"$OUT/rdvd.log" 2>&1 &
	for _k in $(seq 200); do
		kill -0 "$(rdvd_pid)" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "daemon did not start:"
	cat "$OUT/rdvd.log"
	return 1
}

rdvd_pid() { xs0 read /rendezvous/daemon 2>/dev/null; }

# Every domain's area but dom0's is gone (their domains are), and dom0's
# holds nothing.
areas_clean() {
	l=$(xs0 list /rendezvous | grep -v -x -e protocol -e daemon -e 0)
	[ -z "$l" ] || { echo "# areas left: $l"; return 1; }
	for s in req ans chan gone; do
		l=$(xs0 list /rendezvous/0/$s 2>/dev/null)
		[ -z "$l" ] || { echo "# left in /rendezvous/0/$s: $l"; return 1; }
	done
}

# Waits (at most 5 s) for a condition to hold; says why not if it does not.
eventually() {
	for _k in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@"
}
