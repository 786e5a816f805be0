#!/bin/sh
# The standard benchmark sweep in sim: a fresh sim host, `ivc-bench serve`
# in dom1, `ivc-bench run 1` in dom2 (libIVC and its baselines in the same
# run), then results.md (the table), results.csv and results.png (gnuplot)
# in OUTDIR. Extra arguments go to `ivc-bench run` (see ivc-bench(1)).
# usage: bench.sh BUILD_DIR OUTDIR [ivc-bench run options]
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
"$SIM" start --owner $$ >/dev/null
"$SIM" run --domid 1 -- "$BENCH" serve >"$OUT/serve.log" 2>&1 &
"$SIM" run --domid 2 -- "$BENCH" run 1 --csv "$IVC_SIM_DIR/results.csv" "$@" >"$OUT/results.md.tmp" 2>"$OUT/run.log" || {
	cat "$OUT/run.log" "$OUT/serve.log" >&2
	exit 1
}
wait
cp "$IVC_SIM_DIR/results.csv" "$OUT/results.csv"
{
	echo "# ivc-bench, sim, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs"
	echo
	echo "Arguments: ${*:-(defaults)}. Medians over the repetitions; min and max show the spread."
	cat "$OUT/results.md.tmp"
} >"$OUT/results.md"
rm -f "$OUT/results.md.tmp"
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
echo "bench.sh: results in $OUT (results.md, results.csv$png)"
