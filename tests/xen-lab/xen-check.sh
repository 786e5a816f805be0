#!/bin/sh
# `make xen-check`: libIVC on a real Xen 4.17, booted in QEMU (see README.md).
# Installs the host packages it needs, builds the lab's images (cached),
# boots one lab and runs checks.sh in its dom0. Prints one ok/not ok line
# per check and `N passed, N failed`; exits non-zero on failure.
# usage: xen-check.sh [BUILD_DIR]   (default build/default, already built)
#   IVC_XEN_LAB_CACHE  image cache (default build/xen-lab)
#   IVC_XEN_BULK       bytes each way in the bulk tests (default 16 MiB)
#   IVC_XEN_SCALE      channels in the many-channels section (default 300)
#   IVC_XEN_PERF       0: no performance section (default 1)
#   IVC_XEN_PERF_ROUNDS  rounds of the performance section (default 9)
#   IVC_XEN_SMOKE      1: the short run of `make check` (checks.sh)
#   IVC_XEN_LIVENESS   channels in the brokered liveness check (default 500)
#   IVC_XEN_TIMEOUT    hard limit on the lab, seconds (default 3600); the
#                      checks get all but 90 s of it (checks.sh's watchdog)
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${1:-build/default}
cache=${IVC_XEN_LAB_CACHE:-$repo/build/xen-lab}
t0=$(date +%s)

"$here/deps.sh" || exit 1
[ -x "$B/tests/api/api-peer" ] && [ -x "$B/tests/xen/test-xen-plat" ] || {
	echo "xen-check: $B/tests/api/api-peer or $B/tests/xen/test-xen-plat missing:" \
		"build first (make build; the xen platform needs libxen-dev)" >&2
	exit 1
}
B=$(cd "$B" && pwd)
"$here/build-images.sh" "$cache" || exit 1
cmd=$(mktemp)
trap 'rm -f "$cmd"' EXIT
tmo=${IVC_XEN_TIMEOUT:-3600}
echo "IVC_XEN_BULK=${IVC_XEN_BULK:-16777216} IVC_XEN_SCALE=${IVC_XEN_SCALE:-300}" \
	"IVC_XEN_PERF=${IVC_XEN_PERF:-1} IVC_XEN_PERF_ROUNDS=${IVC_XEN_PERF_ROUNDS:-9}" \
	"IVC_XEN_SMOKE=${IVC_XEN_SMOKE:-0}" \
	"IVC_XEN_LIVENESS=${IVC_XEN_LIVENESS:-500}" \
	"IVC_XEN_BUDGET=$((tmo - 90)) exec sh $here/checks.sh $B" >"$cmd"
"$here/run.sh" -c "$cache" -s "$B" -t "$tmo" "$cmd"
rc=$?
if [ $rc -ge 124 ]; then
	# the lab itself failed: count what ran, and this
	out=$cache/last/output
	p=$(grep -c '^ok - ' "$out" 2>/dev/null)
	f=$(grep -c '^not ok - ' "$out" 2>/dev/null)
	echo "not ok - the Xen lab did not finish (status $rc)"
	echo "${p:-0} passed, $((${f:-0} + 1)) failed"
	# what the lab was doing last: its output and the console's (Xen's and
	# dom0's messages), for a run whose log only shows these lines
	tail -n 60 "$out" 2>/dev/null | sed 's/^/# lab: /'
	tr -d '\r' <"$cache/last/console.log" 2>/dev/null | tail -n 25 | sed 's/^/# lab console: /'
fi
echo "xen-check: $(($(date +%s) - t0)) s in all" >&2
exit $rc
