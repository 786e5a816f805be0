#!/usr/bin/env bats
# xen-perf.sh --summary (make xen-perf without the lab): the rows taken
# from boot logs as the performance section prints them, the ratios per
# boot and pooled over the boots (perf-ratios.awk), in how many rounds
# libIVC was ahead, and its errors. The numbers are made up so that every
# ratio is known.
#
# usage: bats tests/xen-lab/xen-perf.bats

setup() {
	XP=$BATS_TEST_DIRNAME/xen-perf.sh
	D=$(mktemp -d "${TMPDIR:-/tmp}/xen-perf.XXXXXX")
}

teardown() {
	rm -rf "$D"
}

# row ROUND TEST SIZE MEDIAN: one "#   ROUND CSV-ROW" line, as checks.sh shows it
row() {
	printf '#   %s %s,%s,%s,%s,%s,GB/s,0,0,0.00,0.00,1\n' "$1" "$2" "$3" "$4" "$4" "$4"
}

# boot N: a log of 3 rounds at 4096 bytes; libIVC's messages against
# libxenvchan's per round given as "IVC VCHAN" pairs; its round trip
# against 100 us.
boot() {
	n=$1
	shift
	{
		echo "# == performance (recorded) (at 0 s)"
		echo "ok - performance: 3 rounds of ivc-bench and vchan-bench"
		echo "# rows (round, then ivc-bench's CSV columns; round 0: the domU's floors):"
		r=1
		while [ $# -ge 3 ]; do
			row $r ivc-msg 4096 "$1"
			row $r ivc-stream 4096 "$1"
			row $r ivc-rtt 4096 "$3"
			row $r vchan-msg 4096 "$2"
			row $r vchan-rtt 4096 100
			shift 3
			r=$((r + 1))
		done
		row 0 memcpy 4096 9
		echo "# 4096 bytes, libIVC / libxenvchan, median of 3 rounds: ..."
		echo "1 passed, 0 failed"
		echo "run.sh: status 0; lab up 50.1 s (dom0 ready 6.70 s after its kernel started)"
	} >"$D/boot$n.log"
}

@test "one boot: the median, lowest, highest and rounds ahead" {
	boot 1 2 1 90 1 2 110 3 2 80
	run sh "$XP" --summary "$D"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"1 boots, 3 rounds"* ]]
	# ratios 2, 0.5, 1.5: median 1.5, 2 of 3 ahead; round trip 0.9, 1.1, 0.8
	[[ "$output" == *"| 4096 | 1 | messages 1.50x (0.50x - 2.00x, ahead in 2 of 3), stream 1.50x (0.50x - 2.00x, ahead in 2 of 3); round trip 0.90x (0.80x - 1.10x, ahead in 2 of 3) |"* ]]
	[ "$(wc -l <"$D/rows")" -eq 16 ] # 3 rounds of 5 rows, the floor
	grep -q '^1 0 memcpy,4096,9,' "$D/rows"
	# no rows of other sizes: no ratio for them
	[[ "$output" == *"| 64 | **all** | **messages none, stream none; round trip none** |"* ]]
	[ -f "$D/results.md" ]
}

@test "two boots pool their rounds; a boot's own line stays its own" {
	boot 1 2 1 90 1 2 110 3 2 80
	boot 2 1 2 120 1 4 130 1 1 100
	run sh "$XP" --summary "$D"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"2 boots, 6 rounds"* ]]
	# boot 2: 0.5, 0.25, 1 -> 0.5, none ahead (1x is not ahead); 1.2, 1.3, 1.0
	[[ "$output" == *"| 4096 | 2 | messages 0.50x (0.25x - 1.00x, ahead in 0 of 3)"*"round trip 1.20x (1.00x - 1.30x, ahead in 0 of 3) |"* ]]
	# all six: 0.25 0.5 0.5 1 1.5 2 -> 0.75; round trip 0.8 0.9 1.0 1.1 1.2 1.3 -> 1.05
	[[ "$output" == *"| 4096 | **all** | **messages 0.75x (0.25x - 2.00x, ahead in 2 of 6)"*"round trip 1.05x (0.80x - 1.30x, ahead in 2 of 6)** |"* ]]
}

@test "a round without its libxenvchan row is left out, not counted" {
	boot 1 2 1 90 1 2 110 3 2 80
	grep -v '^#   2 vchan-msg' "$D/boot1.log" >"$D/b" && mv "$D/b" "$D/boot1.log"
	run sh "$XP" --summary "$D"
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages 1.75x (1.50x - 2.00x, ahead in 2 of 2)"* ]]
	[[ "$output" == *"round trip 0.90x (0.80x - 1.10x, ahead in 2 of 3)"* ]]
}

@test "each boot's status: ok, failed, did not finish" {
	boot 1 2 1 90
	boot 2 2 1 90
	boot 3 2 1 90
	sed -i 's/^1 passed, 0 failed$/1 passed, 1 failed/' "$D/boot2.log"
	sed -i '/passed, 0 failed$/d' "$D/boot3.log"
	run sh "$XP" --summary "$D"
	[ "$status" -eq 0 ]
	[[ "$output" == *"- boot 1: ok"* ]]
	[[ "$output" == *"- boot 2: failed"* ]]
	[[ "$output" == *"- boot 3: did not finish"* ]]
}

@test "errors: no directory, no boot logs, a gap in their numbers" {
	run sh "$XP" --summary "$D/none"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: xen-perf.sh --summary OUT_DIR"* ]]
	run sh "$XP" --summary "$D"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no boot logs"* ]]
	[ ! -e "$D/results.md" ]
	boot 1 2 1 90
	boot 3 2 1 90
	run sh "$XP" --summary "$D"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no boot2.log"* ]]
	[ ! -e "$D/results.md" ]
	# the rounds setting is the lab's, not the summary's
	rm "$D/boot3.log"
	IVC_XEN_PERF_ROUNDS=abc run sh "$XP" --summary "$D"
	[ "$status" -eq 0 ]
}

@test "a bad IVC_XEN_PERF_BOOTS or _ROUNDS is refused before any lab starts" {
	IVC_XEN_PERF_BOOTS=0 run sh "$XP" "$D"
	[ "$status" -eq 2 ]
	[[ "$output" == *"IVC_XEN_PERF_BOOTS"* ]]
	IVC_XEN_PERF_BOOTS=x IVC_XEN_PERF_ROUNDS=3 run sh "$XP" "$D"
	[ "$status" -eq 2 ]
	IVC_XEN_PERF_ROUNDS=-1 run sh "$XP" "$D"
	[ "$status" -eq 2 ]
	[[ "$output" == *"IVC_XEN_PERF_ROUNDS"* ]]
	IVC_XEN_PERF_ROUNDS=1000 run sh "$XP" "$D"
	[ "$status" -eq 2 ]
	[[ "$output" == *"1 to 999"* ]]
}
