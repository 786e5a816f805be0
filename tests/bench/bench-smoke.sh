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
for t in ivc-msg ivc-stream ivc-rtt memcpy ring unix pipe; do
	n=$(awk -F, -v t="$t" '$1 == t && $11 == 2 && $3 > 0' "$out/results.csv" 2>/dev/null | wc -l)
	check "results.csv: $t has a positive median of 2 repetitions for 3 sizes ($n)" [ "$n" = 3 ]
done
for t in spin-rtt eventfd-rtt; do
	check "results.csv: $t" sh -c "awk -F, '\$1 == \"$t\" && \$3 > 0' '$out/results.csv' | grep -q ."
done
check "results.md: the table" grep -q '^| ivc-msg | 64 |' "$out/results.md"
# The ratios, per repetition: libIVC over each baseline, a row per size.
for r in "ivc-msg / unix" "ivc-msg / memcpy" "ivc-stream / unix" "ivc-msg / ring" "ring / unix"; do
	n=$(grep -c "^| $r | [0-9]* | [0-9.]* | [0-9.]* | [0-9.]* |\$" "$out/results.md")
	check "results.md: ratio $r for 3 sizes ($n)" [ "$n" = 3 ]
done
for r in "ivc-rtt / eventfd-rtt" "ivc-rtt / spin-rtt"; do
	check "results.md: ratio $r at 64 bytes" grep -q "^| $r | 64 | [0-9.]* |" "$out/results.md"
done
# Every row has the header's 14 columns; the sleeps per MiB of ivc-msg
# and ivc-stream are numbers (how many depends on the machine).
check "results.csv: 14 columns in every line" \
	sh -c "awk -F, 'NF != 14 { bad = 1 } END { exit bad }' '$out/results.csv'"
n=$(awk -F, '$1 ~ /^ivc-(msg|stream)$/ && $12 ~ /^[0-9.]+$/ && $13 ~ /^[0-9.]+$/ && $14 ~ /^[0-9.]+$/' \
	"$out/results.csv" 2>/dev/null | wc -l)
check "results.csv: writer, reader sleeps and naps per MiB in the 6 rows of ivc-msg and ivc-stream ($n)" [ "$n" = 6 ]
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
"$1/tests/bench/ivc-bench" serve --clients 0 >"$out/bad.out" 2>&1
rc=$?
check "serve --clients 0: usage (status $rc)" [ $rc = 2 ]
# Placement: a CPU this process may not use is refused before anything
# forks; with two CPUs, the round trips again on one (results-1cpu.csv);
# on one, the spinning baselines are left out; an unknown placement is
# refused.
"$1/tests/bench/ivc-bench" run 1 --peer-cpu "$(getconf _NPROCESSORS_CONF)" >"$out/bad.out" 2>&1
rc=$?
check "--peer-cpu with a CPU not ours: usage (status $rc)" \
	[ $rc = 2 -a "$(grep -c 'is not one this process may use' "$out/bad.out")" = 1 ]
if [ "$(nproc)" -ge 2 ]; then
	check "two CPUs: results-1cpu.csv has ivc-rtt and eventfd-rtt" \
		[ "$(cut -d, -f1 "$out/results-1cpu.csv" 2>/dev/null | grep -c -x -e ivc-rtt -e eventfd-rtt)" = 2 ]
	check "two CPUs: results.md says where each side ran" grep -q '^Arguments: .*Placement: server on CPU' "$out/results.md"
fi
IVC_BENCH_PLACE=same "$(dirname "$0")/bench.sh" "$1" "$out/same" --reps 1 --ms 20 --sizes 64 \
	--rtts 20 --tests ivc-rtt,eventfd-rtt,spin-rtt,ring >"$out/same.out" 2>&1
rc=$?
check "IVC_BENCH_PLACE=same ran (status $rc)" [ $rc = 0 ]
check "IVC_BENCH_PLACE=same: no spinning baselines, said so" \
	[ "$(cut -d, -f1 "$out/same/results.csv" 2>/dev/null | grep -v '^test$' | sort | tr '\n' ' ')" = "eventfd-rtt ivc-rtt " -a \
	"$(grep -c 'spin-rtt and ring left out' "$out/same/run.log" 2>/dev/null)" = 1 ]
IVC_BENCH_PLACE=nowhere "$(dirname "$0")/bench.sh" "$1" "$out/nowhere" >"$out/bad.out" 2>&1
rc=$?
check "IVC_BENCH_PLACE=nowhere: refused (status $rc)" [ $rc = 2 ]
# serve --clients 2: two runs in turn against one server, which then exits
# by itself (the Xen lab's alternating rounds need this).
B=$(cd "$1" && pwd)
IVC_SIM_DIR=$out/sim
export IVC_SIM_DIR
mkdir -p "$IVC_SIM_DIR"
"$B/sim/ivc-sim" start --owner $$ >/dev/null
"$B/sim/ivc-sim" run --domid 1 -- "$B/tests/bench/ivc-bench" serve --clients 2 >"$out/c.serve" 2>&1 &
sp=$!
n=0
for i in 1 2; do
	"$B/sim/ivc-sim" run --domid 2 -- "$B/tests/bench/ivc-bench" run 1 --reps 1 --ms 20 \
		--sizes 64 --rtts 20 --tests ivc-rtt --csv "$out/c$i.csv" >/dev/null 2>>"$out/c.run" &&
		grep -q '^ivc-rtt,64,' "$out/c$i.csv" && n=$((n + 1))
done
i=0
while kill -0 $sp 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -0 $sp 2>/dev/null && kill $sp
wait $sp
rc=$?
[ $n = 2 ] && [ $rc = 0 ] || sed 's/^/# /' "$out/c.serve" "$out/c.run"
check "serve --clients 2: two runs gave their rows ($n), then the server exited (status $rc)" \
	[ $n = 2 -a $rc = 0 ]
"$B/sim/ivc-sim" stop >/dev/null 2>&1
if command -v gnuplot >/dev/null; then
	check "results.png: a PNG" sh -c "head -c 8 '$out/results.png' | od -c | grep -q 'P   N   G'"
else
	echo "# gnuplot not installed: no plot checked"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
