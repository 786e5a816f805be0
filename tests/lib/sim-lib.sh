# Shared by the sim test scripts (sourced, not run): a scratch sim host
# directory, TAP-like result lines, bounded domains, and the leak checks.
# Expects $SIM (the ivc-sim binary) to be set.
#
# Nothing a test starts may outlive it, however it ends:
#  - every host is started by sim_start, owned by this shell (ivc-simd
#    --owner): if the script dies, even by SIGKILL, the host stops itself
#    and kills its domains;
#  - an ordinary exit, and INT, TERM or HUP, stop the host and remove the
#    directory (dash runs the EXIT trap only on exit, hence the others);
#  - every domain runs under `timeout` (dom), so no scenario runs unbounded.

IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-sim-test.XXXXXX")
export IVC_SIM_DIR
# Hosts started from here, by `ivc-sim start` in any form, stop with us.
IVC_SIM_OWNER=$$
export IVC_SIM_OWNER
# Seconds a scenario may take before it fails by name.
LIMIT=${IVC_TEST_LIMIT_S:-60}
pass=0
fail=0
cleanup() {
	"$SIM" stop >/dev/null 2>&1
	rm -rf "$IVC_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { # description, command...
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

# Waits (at most 10 s) until FILE holds PATTERN; shows FILE if it does not.
wait_for() {
	for _k in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# no \"$2\" in $1:"
	sed 's/^/#   /' "$1"
	return 1
}

# Prints the path of a wrapper (named after $1) that runs the host's
# ivc-xenstored with the other arguments added: a host started with it
# in IVC_XENSTORED has, for instance, smaller quotas.
xsd_with() {
	_w=$IVC_SIM_DIR/xsd-$1
	shift
	printf '#!/bin/sh\nexec "%s" "$@" %s\n' "$(dirname "$SIM")/xenstored/ivc-xenstored" "$*" >"$_w"
	chmod +x "$_w"
	echo "$_w"
}

# Starts the host (extra arguments go to `ivc-sim start`).
sim_start() { "$SIM" start "$@"; }

# dom DOMID CMD ARGS...: runs CMD as domain DOMID for at most $LIMIT
# seconds: CMD gets IVC_TEST_LIMIT_S=$LIMIT (api-peer then fails by name),
# and `timeout` ends what is left 5 s later (status 124). --foreground
# keeps it in our process group, so whatever kills our group kills it
# too. Run it in the background to get its pid in $!.
dom() {
	d=$1
	shift
	IVC_TEST_LIMIT_S=$LIMIT timeout --foreground -k 5 $((LIMIT + 5)) \
		"$SIM" run --domid "$d" -- "$@"
}

# What a status means, for a failure message.
status_text() {
	case $1 in
	0) echo "ok" ;;
	124) echo "timed out" ;;
	137) echo "killed" ;;
	*) echo "status $1" ;;
	esac
}

# A helper run without LeakSanitizer: in the ASan build its leak scan at
# exit took 200 ms on 2026-12-02's machine, and a timed step that runs a
# helper (a clock read, the kill itself) must not count that.
nolsan() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$@"; }
# The sim's command line for a look or an order (stats, fault, kill,
# destroy, stop), without its leak scan: 60-200 ms a call in the ASan
# build, which a timed step must not count, and the fault walks make
# thousands. (Not for start or run: the host's daemons and the domains'
# programs keep theirs.)
simc() { nolsan "$SIM" "$@"; }

# kill_dom DOMID PID: SIGKILLs the processes of domain DOMID (a crash in
# the domain: their unmap-notify runs) as soon as they exist; PID is the
# `dom` job, whose end means there is nothing left to kill. 0 if killed.
kill_dom() {
	for _k in $(seq 300); do
		simc kill "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

# Every domain but 0 gone or holding nothing; dom0 holding no grant,
# mapping or event channel.
clean() {
	simc stats --json | python3 -c '
import json, sys
bad = []
for d in json.load(sys.stdin)["domains"]:
    keys = ["grants", "mappings", "evtchns"]
    if d["domid"] != 0:
        keys += ["xs_nodes", "xs_watches"]
    bad += ["dom%d %s=%d" % (d["domid"], k, d[k]) for k in keys if d[k]]
if bad:
    print("left over: " + ", ".join(bad))
    sys.exit(1)'
}

# Under ASan/UBSan the daemons report leaks and errors on stderr, which is
# the host's log.
no_sanitizer_report() { ! grep -E "Sanitizer|runtime error" "$IVC_SIM_DIR/simd.log"; }

finish() {
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}
