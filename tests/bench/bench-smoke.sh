#!/bin/sh
# A short ivc-bench sweep in sim: every test and baseline produces a row
# for every size, and the plot is drawn where gnuplot is installed.
# usage: bench-smoke.sh BUILD_DIR
set -u
out=$(mktemp -d "${TMPDIR:-/tmp}/ivc-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
pass=0 fail=0
check() {
	d=$1
	shift
	if "$@"; then echo "ok - $d"; pass=$((pass + 1)); else echo "not ok - $d"; fail=$((fail + 1)); fi
}
"$(dirname "$0")/bench.sh" "$1" "$out" --reps 2 --ms 20 --sizes 64,4096,65536 --rtts 50 \
	--stream-bytes 1048576 >"$out/bench.out" 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$out/bench.out" "$out/run.log" "$out/serve.log" 2>/dev/null
check "bench.sh ran (status $rc)" [ $rc = 0 ]
for t in ivc-msg ivc-stream ivc-rtt memcpy unix pipe; do
	n=$(awk -F, -v t="$t" '$1 == t && $11 == 2 && $3 > 0' "$out/results.csv" 2>/dev/null | wc -l)
	check "results.csv: $t has a positive median of 2 repetitions for 3 sizes ($n)" [ "$n" = 3 ]
done
for t in spin-rtt eventfd-rtt; do
	check "results.csv: $t" sh -c "awk -F, '\$1 == \"$t\" && \$3 > 0' '$out/results.csv' | grep -q ."
done
check "results.md: the table" grep -q '^| ivc-msg | 64 |' "$out/results.md"
# --tests: those rows and no others; an unknown name is refused.
"$(dirname "$0")/bench.sh" "$1" "$out/some" --reps 1 --ms 20 --sizes 64 --rtts 20 \
	--tests ivc-msg,unix >"$out/some.out" 2>&1
rc=$?
check "--tests ivc-msg,unix ran (status $rc)" [ $rc = 0 ]
check "--tests ivc-msg,unix: those two rows only" \
	[ "$(cut -d, -f1 "$out/some/results.csv" 2>/dev/null | grep -v '^test$' | sort | tr '\n' ' ')" = "ivc-msg unix " ]
"$1/tests/bench/ivc-bench" run 1 --tests ivc-msg,nosuch >"$out/bad.out" 2>&1
rc=$?
check "--tests with an unknown name: usage (status $rc)" \
	[ $rc = 2 -a "$(grep -c 'unknown test "nosuch"' "$out/bad.out")" = 1 ]
if command -v gnuplot >/dev/null; then
	check "results.png: a PNG" sh -c "head -c 8 '$out/results.png' | od -c | grep -q 'P   N   G'"
else
	echo "# gnuplot not installed: no plot checked"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
