# The lab's performance section (checks.sh, section 9), sourced by
# checks.sh: in the full run, and alone for `make xen-perf`
# (IVC_XEN_ONLY=perf, xen-perf.sh). Uses checks.sh's B, T and helpers;
# xen-perf.sh reads the rows it shows ("#   ROUND CSV-ROW").
# Both between dom0 and the same PV domU, same sizes, 1 MiB rings (vchan's
# largest), in alternation (perf-rounds.sh): IVC_XEN_PERF_ROUNDS rounds,
# each with one run of each library per size, the order flipping every
# round. Under emulation absolute numbers mean little and drift; each
# round gives a ratio from two runs seconds apart, and the median of those
# ratios is what docs/performance.md reports. Checked: that every run
# ran; the numbers are notes.
# Both libraries run with glibc's `rep movsb` threshold raised: QEMU's TCG
# emulates that instruction an iteration at a time, and glibc uses it for
# copies above 4 KiB on the lab's CPU model (ERMS), which made a 64 KiB
# memcpy 8x slower than a 4 KiB one and every large copy measure QEMU,
# not the library. With the threshold raised, glibc copies with vector
# loops, as fast per byte at 64 KiB as at 4 KiB, as on hardware.
section "performance (recorded)"
GT=glibc.cpu.x86_rep_movsb_threshold=1073741824
IB=$B/tests/bench/ivc-bench
VB=$B/tests/bench/vchan-bench
XL=$(dirname "$0")
PR=$XL/perf-rounds.sh
PS="64,4096,65536"
NR=${IVC_XEN_PERF_ROUNDS:-9}
if [ "${IVC_XEN_PERF:-1}" = 0 ]; then
	note "performance: not run (IVC_XEN_PERF=0, as in make check: make xen-check runs it)"
elif [ -x "$VB" ]; then
	runs=$((NR * $(echo $PS | tr , '\n' | wc -l)))
	GLIBC_TUNABLES=$GT "$IB" serve --ring 1048576 --clients $((runs + 1)) >"$T/ib.s" 2>&1 &
	ip=$!
	if dom=$(lab-domu -m 256 --start -f "$IB" -f "$VB" -f "$PR" perf \
		"GLIBC_TUNABLES=$GT sh $PR $IB $VB $NR $PS" 2>"$T/start.err"); then
		GLIBC_TUNABLES=$GT "$VB" serve "$dom" $runs >"$T/vchan.s" 2>&1 &
		vp=$!
		# Both servers end by themselves after the last run. Till then
		# dom0 stays quiet: lab-domu --wait looks for the domU's status
		# with five processes every 200 ms (xl among them), which took a
		# third of both libraries' speed at 64 B. Every 5 s here, one
		# look at the domU's output tells whether it ended early.
		n=0
		while kill -0 $ip 2>/dev/null || kill -0 $vp 2>/dev/null; do
			n=$((n + 1))
			[ $((n % 5)) = 0 ] && lab-domu --output perf | grep -q '^@@rc ' && break
			[ $n -gt $((120 + runs * 60)) ] && break
			sleep 1
		done
		lab-domu --wait -t 120 perf >"$T/perf.out" 2>&1
		kill $vp $ip 2>/dev/null
		wait $vp $ip
		rc=$(sed -n 's/^@@rc \([0-9]*\)$/\1/p' "$T/perf.out")
		sed -n 's/^@@row //p' "$T/perf.out" >"$T/rows"
		[ "${rc:-1}" = 0 ] || { show "$T/perf.out"; show "$T/ib.s" "$T/vchan.s"; }
		check "performance: $NR rounds of ivc-bench and vchan-bench, dom0 <-> PV domU (status ${rc:-none})" \
			[ "${rc:-1}" = 0 ]
		check "performance: every run gave its rows ($(wc -l <"$T/rows") of $((runs * 5 + 3)))" \
			[ "$(wc -l <"$T/rows")" = $((runs * 5 + 3)) ]
		note "rows (round, then ivc-bench's CSV columns; round 0: the domU's floors):"
		show "$T/rows"
		for sz in $(echo $PS | tr , ' '); do
			note "$sz bytes, libIVC / libxenvchan, median of $NR rounds (lowest - highest, rounds ahead): $(awk -v s=$sz -f "$XL/perf-ratios.awk" "$T/rows")"
		done
	else
		show "$T/start.err"
		bad "performance: domU did not start"
		kill $ip 2>/dev/null
		wait $ip
	fi
	check "performance: nothing left in dom0" clean
else
	note "vchan-bench not built (no libxenvchan): performance not recorded"
fi
