#!/bin/sh
# `make demo`: a simulated Xen host, two domains, one libIVC ring pair.
# usage: examples/demo.sh [BUILD_DIR]
set -u
B=${1:-build/default}
SIM=$B/sim/ivc-sim
DEMO=$B/examples/ring-demo
IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-demo.XXXXXX")
export IVC_SIM_DIR
# The host stops with this script, however it ends (--owner).
trap '"$SIM" stop >/dev/null 2>&1; rm -rf "$IVC_SIM_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
say() { printf '\n$ %s\n' "$*"; }

say "ivc-sim start      # state in $IVC_SIM_DIR"
"$SIM" start --owner $$ || exit 1
say "ivc-sim run --domid 1 --name alice -- ring-demo serve 2 &"
"$SIM" run --domid 1 --name alice -- "$DEMO" serve 2 &
a=$!
say "ivc-sim run --domid 2 --name bob -- ring-demo connect 1"
"$SIM" run --domid 2 --name bob -- "$DEMO" connect 1
rb=$?
wait $a
ra=$?
say "ivc-sim stats      # both domains are gone; nothing may be left"
"$SIM" stats
say "ivc-sim stop"
"$SIM" stop
if [ $ra = 0 ] && [ $rb = 0 ]; then
	echo "demo: all messages delivered intact between dom1 and dom2"
else
	echo "demo: FAILED (dom1 exit $ra, dom2 exit $rb)"
	exit 1
fi
