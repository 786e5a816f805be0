#!/bin/sh
# The standard benchmark sweep in sim: a fresh sim host, `ivc-bench serve`
# in dom1, `ivc-bench run 1` in dom2 (libIVC and its baselines in the same
# run), then results.md (the table), results.csv and results.png (gnuplot)
# in OUTDIR. Extra arguments go to `ivc-bench run` (see ivc-bench(1)).
#
# Placement (IVC_BENCH_PLACE): a round trip that sleeps costs 5 us with
# both processes on one CPU and 30-45 us across two on this kind of
# machine (an idle CPU's wake-up), and the scheduler picks either from run
# to run. So the two sides are pinned, and the baselines' two processes
# the same way (--peer-cpu):
#   cross (the default with 2 CPUs or more): server on the second CPU we
#         may use, client on the first; then the round trips once more
#         with both on the first (results-1cpu.*, and a second table);
#   same: everything on the first CPU (ivc-bench then leaves out its
#         spinning baselines, spin-rtt and ring);
#   free: nothing pinned (the default with one CPU).
set -eu
B=$(cd "$1" && pwd)
OUT=$2
shift 2
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SIM=$B/sim/ivc-sim
BENCH=$B/tests/bench/ivc-bench
export IVC_SIM_DIR
IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-bench.XXXXXX")
cleanup() {
	"$SIM" stop >/dev/null 2>&1 || true
	rm -rf "$IVC_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# The CPUs this shell may use, in order (Cpus_allowed_list: "0-3,6").
# (taskset, below, is util-linux's: in every Debian system.)
cpus=$(awk '/^Cpus_allowed_list/ { n = split($2, r, ","); for (i = 1; i <= n; i++) {
	m = split(r[i], b, "-"); lo = b[1] + 0; hi = (m > 1 ? b[2] : b[1]) + 0
	for (c = lo; c <= hi; c++) print c } }' /proc/self/status)
c0=$(echo "$cpus" | sed -n 1p)
c1=$(echo "$cpus" | sed -n 2p)
PLACE=${IVC_BENCH_PLACE:-$([ -n "$c1" ] && echo cross || echo free)}
case $PLACE in
cross) [ -n "$c1" ] || { echo "bench.sh: cross placement needs two CPUs" >&2; exit 2; } ;;
same | free) ;;
*) echo "bench.sh: IVC_BENCH_PLACE is cross, same or free, not \"$PLACE\"" >&2; exit 2 ;;
esac
# pair PLACE CSV OUT [run options]: one server and one run.
pair() {
	case $1 in
	cross) sp="taskset -c $c1" rp="--cpu $c0 --peer-cpu $c1" ;;
	same) sp="taskset -c $c0" rp="--cpu $c0 --peer-cpu $c0" ;;
	*) sp='' rp='' ;;
	esac
	csv=$2 out=$3
	shift 3
	# shellcheck disable=SC2086 # sp and rp are words
	"$SIM" run --domid 1 -- $sp "$BENCH" serve >>"$OUT/serve.log" 2>&1 &
	# shellcheck disable=SC2086
	"$SIM" run --domid 2 -- "$BENCH" run 1 --csv "$csv" $rp "$@" >"$out" 2>>"$OUT/run.log" || {
		cat "$OUT/run.log" "$OUT/serve.log" >&2
		exit 1
	}
	wait
}
: >"$OUT/serve.log"
: >"$OUT/run.log"
rm -f "$OUT/results.md.tmp" "$OUT/results-1cpu.md.tmp" "$OUT/results-1cpu.csv"
"$SIM" start --owner $$ >/dev/null
pair "$PLACE" "$IVC_SIM_DIR/results.csv" "$OUT/results.md.tmp" "$@"
# (not when --tests leaves out ivc-rtt (any argument naming it counts),
# nor with a spin set: on one CPU a spinning side holds off the peer it
# waits for)
once=1
case " $* " in
*" --tests "*) case " $* " in *ivc-rtt*) ;; *) once='' ;; esac ;;
esac
prev=''
for a in "$@"; do
	[ "$prev" = --spin-us ] && [ "$a" != 0 ] && once=''
	prev=$a
done
if [ "$PLACE" = cross ] && [ -n "$once" ]; then
	pair same "$IVC_SIM_DIR/results-1cpu.csv" "$OUT/results-1cpu.md.tmp" "$@" \
		--tests ivc-rtt,eventfd-rtt --sizes 64
	cp "$IVC_SIM_DIR/results-1cpu.csv" "$OUT/results-1cpu.csv"
fi
cp "$IVC_SIM_DIR/results.csv" "$OUT/results.csv"
case $PLACE in
cross) where="server on CPU $c1, client on CPU $c0 (each baseline's second process on CPU $c1)" ;;
same) where="server, client and every baseline process on CPU $c0" ;;
*) where="not pinned: the scheduler placed both sides" ;;
esac
{
	echo "# ivc-bench, sim, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs"
	echo
	echo "Arguments: ${*:-(defaults)}. Placement: $where. Medians over the repetitions; min and max show the spread."
	cat "$OUT/results.md.tmp"
	if [ -f "$OUT/results-1cpu.md.tmp" ]; then
		echo
		echo "## Round trips with both sides on CPU $c0"
		echo
		echo "The same arguments, then --tests ivc-rtt,eventfd-rtt --sizes 64 (results-1cpu.csv)."
		cat "$OUT/results-1cpu.md.tmp"
	fi
} >"$OUT/results.md"
rm -f "$OUT/results.md.tmp" "$OUT/results-1cpu.md.tmp"
# The plot is a view of the table: a sweep it cannot draw (one size, or
# only some tests: --tests) still has its results.
png=
if ! command -v gnuplot >/dev/null; then
	echo "bench.sh: gnuplot not installed: no plot" >&2
elif "$(dirname "$0")/plot.sh" "$OUT/results.csv" "$OUT/results.png" 2>"$OUT/plot.log"; then
	png=", results.png"
else
	rm -f "$OUT/results.png"
	echo "bench.sh: no plot (gnuplot could not draw these results: $OUT/plot.log)" >&2
fi
echo "bench.sh: results in $OUT (results.md, results.csv$png$([ -f "$OUT/results-1cpu.csv" ] && echo ", results-1cpu.csv"))"
