#!/bin/sh
# `make demo`: a simulated Xen host where guests find a dom0 service by
# name through the rendezvous daemon (brokered mode), one of them is
# refused by the policy, and nothing is left behind.
# usage: examples/demo.sh [BUILD_DIR]
set -u
B=${1:-build/default}
SIM=$B/sim/ivc-sim
EX=$B/examples
IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-demo.XXXXXX")
export IVC_SIM_DIR
XS="env XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock"
# The host stops with this script, however it ends (--owner).
trap '"$SIM" stop >/dev/null 2>&1; rm -rf "$IVC_SIM_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
say() { printf '\n$ %s\n' "$*"; }
note() { printf '  # %s\n' "$*"; }
failed=0

say "ivc-sim start                      # a simulated Xen host; state in $IVC_SIM_DIR"
"$SIM" start --owner $$ || exit 1

say "ivc-sim run --domid 0 -- mkrenddir"
"$SIM" run --domid 0 -- "$B/mkrenddir/mkrenddir" || exit 1

POLICY=$IVC_SIM_DIR/demo.policy
cat >"$POLICY" <<'EOF'
# verb    service  source   target   action
connect   echo     mallory  @anyvm   deny
listen    *        @anyvm   -        allow
connect   *        @anyvm   @anyvm   allow
EOF
say "cat demo.policy"
sed 's/^/  /' "$POLICY"
say "ivc-sim run --domid 0 -- ivc-rendezvousd -f --policy demo.policy &"
"$SIM" run --domid 0 -- "$B/rendezvous/ivc-rendezvousd" -f --policy "$POLICY" \
	2>"$IVC_SIM_DIR/rdvd.log" &
d=$!
for _k in $(seq 100); do
	$XS xenstore-read /rendezvous/daemon >/dev/null 2>&1 && break
	sleep 0.05
done

say "ivc-sim run --domid 0 -- echo-server --clients 3 &     # a dom0 service named \"echo\""
"$SIM" run --domid 0 -- "$EX/echo-server" --clients 3 &
s=$!
sleep 0.3

guest() { # domid name
	say "ivc-sim run --domid $1 --name $2 -- echo-client any --count 200"
	note "connects by name alone: the daemon finds echo in dom0"
	"$SIM" run --domid "$1" --name "$2" -- "$EX/echo-client" any --count 200 || failed=1
}
guest 1 alice
say "ivc-sim run --domid 4 --name mallory -- echo-client any"
note "the policy denies mallory: it is told why, at once, not after a timeout"
if "$SIM" run --domid 4 --name mallory -- "$EX/echo-client" any; then
	echo "demo: mallory was let in"
	failed=1
fi
guest 2 bob
say "ivc-sim run --domid 3 --name carol -- echo-client any --count 20000 &"
note "a longer client, to watch while it runs"
"$SIM" run --domid 3 --name carol -- "$EX/echo-client" any --count 20000 \
	>"$IVC_SIM_DIR/carol.log" 2>&1 &
c=$!
if [ -x "$B/dom0-tools/ivc-top" ]; then
	sleep 0.5
	say "ivc-sim run --domid 0 -- ivc-top -b -n 2 -d 0.5   # the host's channels, as dom0 sees them"
	"$SIM" run --domid 0 -- "$B/dom0-tools/ivc-top" -b -n 2 -d 0.5 || failed=1
fi
wait $c || failed=1
cat "$IVC_SIM_DIR/carol.log"
wait $s || failed=1

say "xenstore-ls -p /rendezvous          # as dom0: only dom0's empty area is left"
$XS xenstore-ls -p /rendezvous
say "ivc-sim stats                       # every guest is gone; nothing may be left"
"$SIM" stats
kill "$($XS xenstore-read /rendezvous/daemon)" 2>/dev/null
wait $d
say "ivc-sim stop"
"$SIM" stop
if [ $failed = 0 ]; then
	echo "demo: three guests reached dom0's echo by name, every message intact; mallory refused by policy"
else
	echo "demo: FAILED"
	exit 1
fi
