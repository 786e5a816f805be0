# Shared by the sim test scripts (sourced, not run): a scratch sim host
# directory that is always cleaned up, TAP-like result lines, and the
# leak checks. Expects $SIM (the ivc-sim binary) to be set.

IVC_SIM_DIR=$(mktemp -d /tmp/ivc-sim-test.XXXXXX)
export IVC_SIM_DIR
pass=0
fail=0
cleanup() {
	"$SIM" stop >/dev/null 2>&1
	rm -rf "$IVC_SIM_DIR"
}
trap cleanup EXIT

ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { # description, command...
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

# Every domain but 0 gone or holding nothing; dom0 holding no grant,
# mapping or event channel.
clean() {
	"$SIM" stats --json | python3 -c '
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
