#!/bin/sh
# A listener that turns hostile on its own ring (ring-hostile: bent prod,
# an oversized message header, bent cons) against a client (victim, the
# Linux build of guest-victim; the guest build meets the same in the Xen
# lab): each attack EPROTO, the well-behaved case delivered, nothing left.
# usage: test-ring-hostile.sh IVC_SIM RING_HOSTILE VICTIM
set -u
SIM=$1
RH=$2
VIC=$3
. "$(dirname "$0")/../lib/sim-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
sim_start >/dev/null || { bad "host start"; finish; exit 1; }
(
	for a in none prod len cons; do
		IVC_RENDEZVOUS=direct dom 1 "$RH" "hr-$a" "$a" || echo "ring-hostile $a failed: $?"
	done
) >"$OUT/l" 2>&1 &
l=$!
IVC_RENDEZVOUS=direct dom 2 "$VIC" ring 1 hr-none hr-prod hr-len hr-cons >"$OUT/v" 2>&1
rc=$?
wait $l
sed 's/^/# /' "$OUT/l" "$OUT/v"
check "the victim came through every attack (exit $rc)" [ $rc = 0 ]
check "a well-behaved listener's second message is delivered" grep -q '^victim hr-none: 0$' "$OUT/v"
for a in prod len cons; do
	check "attack $a: EPROTO" grep -q "^victim hr-$a: 71\$" "$OUT/v"
done
check "the listener saw the client go after each attack" [ "$(grep -c 'the client went' "$OUT/l")" = 4 ]
check "nothing left on the host" clean
finish
