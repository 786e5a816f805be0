#!/bin/sh
# Connect rate and latency at scale, brokered and direct mode in one run:
# DOMS sim domains (PAR at a time), each opening CONN channels to one
# listener in dom1 (one echo each, then closed), first through the
# rendezvous daemon (by name alone), then in direct mode (by domain and
# name). Prints a markdown table: connects per second over the whole run
# (domain creation included, as a guest would see it), and the latency of
# ivc_connect itself, p50 and p99.
# usage: scale.sh BUILD_DIR [DOMS] [CONN] [PAR]     (make scale)
set -u
B=$(cd "${1:-build/default}" && pwd)
DOMS=${2:-1000}
CONN=${3:-5}
PAR=${4:-50}
SIM=$B/sim/ivc-sim
PEER=$B/tests/broker/broker-peer
IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-scale.XXXXXX")
IVC_SIM_OWNER=$$
export IVC_SIM_DIR IVC_SIM_OWNER
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
trap '"$SIM" stop >/dev/null 2>&1; rm -rf "$IVC_SIM_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$SIM" start >/dev/null || exit 1
"$SIM" run --domid 0 -- "$B/mkrenddir/mkrenddir" -q || exit 1
"$SIM" run --domid 0 -- "$B/rendezvous/ivc-rendezvousd" -f -q 2>"$OUT/rdvd.log" &
rdv=$!
for _k in $(seq 100); do
	XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock xenstore-read /rendezvous/daemon >/dev/null 2>&1 && break
	sleep 0.05
done

# run MODE SERVER: all domains against a fresh listener; prints a table row.
run() {
	mode=$1
	server=$2
	total=$((DOMS * CONN))
	IVC_RENDEZVOUS=$mode "$SIM" run --domid 1 -- "$PEER" serve scale -n $total >"$OUT/s.$mode" 2>&1 &
	s=$!
	for _k in $(seq 200); do grep -q serving "$OUT/s.$mode" && break; sleep 0.05; done
	t0=$("$PEER" now)
	d=2
	bad=0
	while [ $d -le $((DOMS + 1)) ]; do
		pids=""
		for i in $(seq $PAR); do
			[ $d -le $((DOMS + 1)) ] || break
			IVC_RENDEZVOUS=$mode "$SIM" run --domid $d -- "$PEER" connect "$server" scale -k "$CONN" -c 1 -L -T 60000 \
				>"$OUT/c.$mode.$d" 2>&1 &
			pids="$pids $!"
			d=$((d + 1))
		done
		for p in $pids; do wait "$p" || bad=$((bad + 1)); done
	done
	t1=$("$PEER" now)
	wait $s || bad=$((bad + 1))
	cat "$OUT"/c.$mode.* | sed -n 's/^connect_us //p' | sort -n >"$OUT/lat.$mode"
	n=$(wc -l <"$OUT/lat.$mode")
	p50=$(awk -v n="$n" 'NR == int(n * 0.50) + 1 { printf "%.2f", $1 / 1000 }' "$OUT/lat.$mode")
	p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.2f", $1 / 1000 }' "$OUT/lat.$mode")
	rate=$(awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
	echo "| $mode | $DOMS | $n | $(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }') | $rate | $p50 | $p99 | $bad |"
	[ "$bad" = 0 ] && [ "$n" = "$total" ]
}

echo "| mode | domains | connects | wall s | connects/s | connect p50 ms | connect p99 ms | failures |"
echo "|---|---|---|---|---|---|---|---|"
run brokered any; r1=$?
run direct 1; r2=$?
kill $rdv 2>/dev/null
wait $rdv
[ $r1 = 0 ] && [ $r2 = 0 ]
