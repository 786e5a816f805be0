#!/bin/sh
# api-both between two sim domains: stream, zero copy, a timeout (the
# same source runs as a guest in the Xen lab).
# usage: test-api-both.sh IVC_SIM API_BOTH
set -u
SIM=$1
AB=$2
. "$(dirname "$0")/../lib/sim-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
sim_start >/dev/null || { bad "host start"; finish; exit 1; }
IVC_RENDEZVOUS=direct dom 1 "$AB" serve both >"$OUT/s" 2>&1 & s=$!
wait_for "$OUT/s" "serving both-stream"
IVC_RENDEZVOUS=direct dom 2 "$AB" connect 1 both >"$OUT/c" 2>&1; rc=$?
wait $s; rs=$?
sed 's/^/# server: /' "$OUT/s"
sed 's/^/# client: /' "$OUT/c"
check "stream both ways, end of stream, zero copy echoed in place, a timeout: client $rc, server $rs" \
	[ "$rc$rs" = 00 ]
check "the client saw the timeout and end of stream" \
	sh -c "grep -q 'timeout: recv on a quiet channel gave ETIMEDOUT' '$OUT/c' && grep -q 'then end of stream' '$OUT/c'"
check "nothing left on the host" clean
finish
