#!/bin/sh
# `make xen-perf`: libIVC against libxenvchan on real Xen, the lab's
# performance section alone (checks.sh with IVC_XEN_ONLY=perf) in BOOTS
# fresh boots of the lab, then the ratios per boot and pooled over every
# round of every boot. Under QEMU's TCG a boot's speed differs from the
# next one's by more than the libraries differ (docs/performance.md), so
# one boot's medians decide nothing; the pooled rounds, and in how many
# of them libIVC was ahead, are what docs/performance.md reports.
# usage: xen-perf.sh [BUILD_DIR [OUT_DIR]]  (default build/default and
#                                            BUILD_DIR/xen-perf)
#        xen-perf.sh --summary OUT_DIR      results.md again from the
#                                           boot logs there, no lab
#   IVC_XEN_PERF_BOOTS   boots (default 9: a boot takes about 2 minutes)
#   IVC_XEN_PERF_ROUNDS  rounds per boot (default 9, at most 999)
#   IVC_XEN_LAB_CACHE    image cache (default build/xen-lab)
# Writes OUT_DIR/bootN.log (each boot's checks; those of an earlier run
# there are removed first), OUT_DIR/rows (every row, "BOOT ROUND
# CSV-ROW") and OUT_DIR/results.md (the ratios, and each boot's status),
# and prints results.md. Exits non-zero if a boot failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "xen-perf: $*" >&2; exit 2; }

# A boot's status, from the checks' closing line.
status_of() { # LOG
	case $(grep '^[0-9][0-9]* passed, [0-9][0-9]* failed$' "$1" | tail -n 1) in
	*" 0 failed") echo ok ;;
	"") echo "did not finish" ;;
	*) echo failed ;;
	esac
}

# The rows of the boot logs, "BOOT ROUND CSV-ROW" (the section shows
# them as "#   ROUND CSV-ROW"), and results.md from them.
summary() {
	: >"$out/rows"
	b=1
	while [ $b -le "$boots" ]; do
		sed -n "s/^#   \([0-9][0-9]*\) \([a-z-]*,\)/$b \1 \2/p" "$out/boot$b.log" >>"$out/rows"
		b=$((b + 1))
	done
	# One line per size: a boot's rounds, or all of them numbered apart
	# (rounds are at most 999).
	ratios() { # SIZE [BOOT]
		awk -v b="${2:-}" '$1 == b || b == "" { print $2 ? $1 * 1000 + $2 : 0, $3 }' \
			"$out/rows" | awk -v s="$1" -f "$here/perf-ratios.awk"
	}
	{
		echo "# libIVC / libxenvchan in the Xen lab: $boots boots," \
			"$(awk '$2 > 0 && !r[$1, $2]++ { n++ } END { print n + 0 }' "$out/rows") rounds"
		echo
		b=1
		while [ $b -le "$boots" ]; do
			echo "- boot $b: $(status_of "$out/boot$b.log")"
			b=$((b + 1))
		done
		echo
		echo "Ratios of libIVC to libxenvchan per round (\`perf-ratios.awk\`): the"
		echo "median, the lowest and highest, and in how many rounds libIVC was"
		echo "ahead (throughput above 1x, round trip below 1x)."
		echo
		echo "| size | boot | ratios |"
		echo "|---|---|---|"
		for sz in 64 4096 65536; do
			b=1
			while [ $b -le "$boots" ]; do
				echo "| $sz | $b | $(ratios $sz $b) |"
				b=$((b + 1))
			done
			echo "| $sz | **all** | **$(ratios $sz)** |"
		done
	} >"$out/results.md"
	cat "$out/results.md"
}

if [ "${1:-}" = --summary ]; then
	[ -d "${2:-}" ] || die "usage: xen-perf.sh --summary OUT_DIR"
	out=$(cd "$2" && pwd)
	boots=$(ls "$out" | grep -c '^boot[0-9][0-9]*\.log$')
	[ "$boots" -gt 0 ] || die "no boot logs (bootN.log) in $out"
	b=1
	while [ $b -le "$boots" ]; do
		[ -f "$out/boot$b.log" ] || die "$boots boot logs in $out, but no boot$b.log: boot1.log .. boot$boots.log expected"
		b=$((b + 1))
	done
	summary
	exit 0
fi

B=${1:-build/default}
cache=${IVC_XEN_LAB_CACHE:-$repo/build/xen-lab}
boots=${IVC_XEN_PERF_BOOTS:-9}
nr=${IVC_XEN_PERF_ROUNDS:-9}
case "$boots" in *[!0-9]* | 0* | "") die "IVC_XEN_PERF_BOOTS: a number from 1, not '$boots'" ;; esac
case "$nr" in *[!0-9]* | 0* | "") die "IVC_XEN_PERF_ROUNDS: a number from 1 to 999, not '$nr'" ;; esac
[ "$nr" -le 999 ] || die "IVC_XEN_PERF_ROUNDS: a number from 1 to 999, not '$nr'"

"$here/deps.sh" || exit 1
for f in tests/bench/vchan-bench tests/bench/ivc-bench tests/api/api-peer tests/xen/test-xen-plat; do
	[ -x "$B/$f" ] || {
		echo "xen-perf: $B/$f missing: build first (make build; the xen platform" \
			"and vchan-bench need libxen-dev)" >&2
		exit 1
	}
done
B=$(cd "$B" && pwd)
out=${2:-$B/xen-perf}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
rm -f "$out"/boot[0-9]*.log "$out/rows" "$out/results.md"
"$here/build-images.sh" "$cache" || exit 1
cmd=$(mktemp)
trap 'rm -f "$cmd"' EXIT
# The section waits up to 120 + 180 s a round for its domU; the lab gets
# that, its boot and some, and the checks' watchdog (as xen-check.sh sets
# it) shows where a hang was before the lab's hard limit ends it.
tmo=$((900 + nr * 200))
echo "IVC_XEN_ONLY=perf IVC_XEN_PERF_ROUNDS=$nr IVC_XEN_BUDGET=$((tmo - 90))" \
	"exec sh $here/checks.sh $B" >"$cmd"
rc=0
b=1
while [ $b -le "$boots" ]; do
	echo "xen-perf: boot $b of $boots" >&2
	"$here/run.sh" -c "$cache" -s "$B" -t $tmo "$cmd" >"$out/boot$b.log" 2>&1 || {
		echo "xen-perf: boot $b failed; its end:" >&2
		tail -n 20 "$out/boot$b.log" >&2
		rc=1
	}
	b=$((b + 1))
done

summary
echo "xen-perf: logs, rows and results.md in $out" >&2
exit $rc
