#!/bin/sh
# The client half of the lab's performance section (checks.sh, section 9),
# run in the domU: libIVC and libxenvchan in alternation, so that each
# ratio compares two runs a few seconds apart, not two stretches of the
# lab's time minutes apart (under QEMU's TCG a domain's speed drifts by up
# to 2x between them). Each round, for each size, one run of each, one
# repetition; the order flips every round.
# usage: perf-rounds.sh IVC_BENCH VCHAN_BENCH ROUNDS SIZES
#   servers in dom0 (domain 0): `ivc-bench serve --ring 1048576 --clients
#   ROUNDS*NSIZES+1` and `vchan-bench serve DOMU ROUNDS*NSIZES`; the
#   environment (GLIBC_TUNABLES: checks.sh) goes to both benchmarks
# Output: "@@row ROUND CSV-ROW" per result (ivc-bench's CSV columns), then
# "@@rc STATUS"; a failed run ends the rounds with "@@fail WHAT ROUND SIZE
# STATUS" and its messages.
IB=$1 VB=$2 R=$3 PS=$4
o=/tmp/perf-rounds.csv e=/tmp/perf-rounds.err

# Bytes per byte-counted run (vchan-bench's messages, both streams): about
# the 300 ms that ivc-bench's message runs last. A fixed 32 MiB took 30 ms
# at 4 and 64 KiB, within one hiccup of the emulated machine: single runs
# then ranged 0.4-1.9 GB/s.
bytes() {
	case $1 in
	64) echo 33554432 ;;
	4096) echo 268435456 ;;
	*) echo 402653184 ;;
	esac
}

# Round trips: 2000, 200 from 64 KiB up, for both (vchan-bench takes a
# tenth from 64 KiB up as ivc-bench does). Until 2026-12-04 libIVC's 64
# KiB median was of 20 and libxenvchan's of 200: in one boot the same
# test gave libxenvchan 790 us with 20 and 1200 us with 200.
one() { # WHAT ROUND SIZE
	n=$(bytes "$3")
	case $1 in
	ivc) "$IB" run 0 --ring 1048576 --sizes "$3" --reps 1 --ms 300 --rtts 2000 \
		--stream-bytes $n --tests ivc-msg,ivc-stream,ivc-rtt --csv $o >/dev/null 2>$e ;;
	vchan) "$VB" run 0 --sizes "$3" --reps 1 --bytes $n --rtts 2000 >$o 2>$e ;;
	esac
	s=$?
	if [ $s != 0 ]; then
		echo "@@fail $1 $2 $3 $s"
		cat $e
		return 1
	fi
	grep -v '^test,' $o | sed "s/^/@@row $2 /"
}

rounds() {
	r=1
	while [ "$r" -le "$R" ]; do
		for sz in $(echo "$PS" | tr , ' '); do
			if [ $((r % 2)) = 1 ]; then
				one ivc $r "$sz" && one vchan $r "$sz" || return 1
			else
				one vchan $r "$sz" && one ivc $r "$sz" || return 1
			fi
		done
		r=$((r + 1))
	done
	# the domU's floors, once: a copy and a round trip inside the domU
	"$IB" run 0 --ring 1048576 --sizes 4096 --reps 1 --ms 300 --rtts 200 \
		--tests memcpy,spin-rtt,eventfd-rtt --csv $o >/dev/null 2>$e || { cat $e; return 1; }
	grep -v '^test,' $o | sed "s/^/@@row 0 /"
}

rounds
echo "@@rc $?"
