#!/bin/sh
# ivc-top(1) on its screen: run in a private tmux server as dom0 of a sim
# host, with two echo pairs moving data at very different rates (service
# alpha: dom1 <- dom2, messages up to 4 KiB; beta: dom3 <- dom4, up to
# 16 bytes). Keys are sent and the pane read back: the table, help, sort
# and reverse, filters, pause, the per-domain view, the interval, a
# resize to 80x24, and q.
# usage: ivc-top-tmux.sh BUILD_DIR
set -u
BUILD=${1:?usage: ivc-top-tmux.sh BUILD_DIR}
SIM=$BUILD/sim/ivc-sim
TOP=$BUILD/dom0-tools/ivc-top
SERVER=$BUILD/examples/echo-server
CLIENT=$BUILD/examples/echo-client
for f in "$SIM" "$TOP" "$SERVER" "$CLIENT"; do
	[ -x "$f" ] || { echo "SKIP: $f not built"; exit 77; }
done
command -v tmux >/dev/null || { echo "SKIP: tmux needed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
. "$(dirname "$0")/../lib/sim-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
SOCK=ivc-top-test-$$
# The tmux server (a daemon) goes with the host, however the script ends.
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; cleanup' EXIT
trap 'exit 141' PIPE

tm() { tmux -L "$SOCK" "$@"; }
screen() { tm capture-pane -p -t top >"$OUT/screen" 2>/dev/null; }
keys() { tm send-keys -t top "$@"; }

# Waits (at most 10 s) until the screen passes a test (a command run
# after each capture); shows the screen with WHAT when it never does.
until_screen() { # what command...
	what=$1
	shift
	for _k in $(seq 100); do
		screen && "$@" && return 0
		sleep 0.1
	done
	echo "# the screen $what:"
	sed 's/^/#   /' "$OUT/screen"
	return 1
}
shows() { until_screen "has no $*" grep -q "$@" "$OUT/screen"; }
hides() { until_screen "still has $*" sh -c '! grep -q "$@"' - "$@" "$OUT/screen"; }
# Until the screen differs from FILE.
changes() { until_screen "stays as it was" sh -c '! cmp -s "$1" "$2"' - "$1" "$OUT/screen"; }

# Waits (at most 10 s) for a command to succeed; its output if it does not.
eventually() {
	for _k in $(seq 100); do
		screen && "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}


# A row of SERVICE ends with a sparkline in block characters (UTF-8).
spark() {
	python3 - "$OUT/screen" "$1" <<'EOF'
import sys
rows = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith(sys.argv[2] + " ")]
if not any(0x2581 <= ord(ch) <= 0x2588 for l in rows for ch in l):
    print("# no block character in %r" % rows)
    sys.exit(1)
EOF
}

# first SERVICE_A SERVICE_B: A's row is above B's on the screen.
first() {
	a=$(grep -n "^$1 " "$OUT/screen" | head -1 | cut -d: -f1)
	b=$(grep -n "^$2 " "$OUT/screen" | head -1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] && return 0
	echo "# $1 (line ${a:-none}) is not above $2 (line ${b:-none}):"
	sed 's/^/#   /' "$OUT/screen"
	return 1
}
# Waits for the order to settle after a key.
eventually_first() {
	for _k in $(seq 50); do
		screen && first "$1" "$2" >/dev/null && return 0
		sleep 0.1
	done
	first "$1" "$2"
}

# The screen laid out for W x H: no line wider, no more lines, the header
# on lines 1 and 2, and (with a third argument) a column title line whose
# last title is whole, so no column was cut at the edge.
fits() {
	python3 - "$OUT/screen" "$@" <<'EOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
while lines and lines[-1] == "":
    lines.pop()
w, h = int(sys.argv[2]), int(sys.argv[3])
titles = ["SERVICE", "TYPE", "LISTENER", "CLIENT", "MODE", "RDV", "DIR", "STATE", "RING>C",
          "FILL>C", "RING>L", "FILL>L", "MSG/S>C", "MSG/S>L", "B/S>C", "B/S>L", "NTF/S", "AGE",
          "FLG", "HISTORY"]
wide = [l for l in lines if len(l) > w]
if wide or len(lines) > h or len(lines) < 4 or not lines[0].startswith("ivc-top"):
    print("# %d lines, %d wider than %d: %r" % (len(lines), len(wide), w, wide[:2]))
    sys.exit(1)
if len(sys.argv) > 4:
    head = lines[3].split()
    if not lines[1].startswith("Domains ") or head[0] != "SERVICE" or head[-1] not in titles:
        print("# not laid out for %d columns: %r" % (w, lines[:4]))
        sys.exit(1)
EOF
}

sim_start >/dev/null || { bad "host start"; finish; exit 1; }
dom 1 "$SERVER" --name alpha --clients 1 >"$OUT/s1" 2>&1 &
s1=$!
dom 3 "$SERVER" --name beta --clients 1 >"$OUT/s3" 2>&1 &
s3=$!
wait_for "$OUT/s1" serving && wait_for "$OUT/s3" serving || bad "echo-servers serve"
# Minutes' worth of traffic; the clients are killed at the end.
dom 2 "$CLIENT" 1 --name alpha --count 2000000 --max 4096 >"$OUT/c2" 2>&1 &
c2=$!
dom 4 "$CLIENT" 3 --name beta --count 2000000 --max 16 >"$OUT/c4" 2>&1 &
c4=$!
wait_for "$OUT/s1" connected && wait_for "$OUT/s3" connected || bad "echo-clients connect"

# The pane runs ivc-top as dom0, as ivc-top(1) says (ivc-sim run makes it
# a process group of its own and hands it the terminal), and then writes
# its status; remain-on-exit keeps the pane to be looked at.
tm -f /dev/null new-session -d -s top -x 100 -y 30 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 IVC_SIM_DIR='$IVC_SIM_DIR' timeout --foreground $((LIMIT * 2)) \
	'$SIM' run --domid 0 -- '$TOP' -d 0.5 2>'$OUT/top.err'; echo \$? >'$OUT/status'" \; \
	set-window-option -t top remain-on-exit on >/dev/null

check "the table: alpha, dom1 to dom2, open" shows -E "^alpha +1:dom1 +2:dom2 .*open"
check "the table: beta, dom3 to dom4, open" shows -E "^beta +3:dom3 +4:dom4 .*open"
check "the header: totals and the interval" \
	grep -q -E "^Domains [0-9]+  Services 2  Channels 2 \(2 open\)" "$OUT/screen"
check "the header: the interval" grep -q "interval 0.5s" "$OUT/screen"
check "rates shown once seen twice" shows -E "^alpha .* [0-9.]+[KM]? +[0-9.]+[KM]? +-ct "
# Ten scans: the history has bars, in block characters (UTF-8).
check "a throughput sparkline in block characters" eventually spark alpha

keys h
check "h: the help screen" shows "any key returns"
keys x
check "any key leaves the help" hides "any key returns"
check "and the table is back" shows "^SERVICE"

# Sorting: bytes/s, largest first, by default; alpha (4 KiB messages)
# goes far faster than beta (16 bytes).
check "sorted by bytes/s, largest first, by default" grep -q "by bytes/s v" "$OUT/screen"
check "alpha (4 KiB messages) above beta (16 bytes)" eventually_first alpha beta
keys r
check "r: the other order" shows "by bytes/s ^"
check "r: beta above alpha" eventually_first beta alpha
keys S
check "S: by service, in its natural order" shows "by service ^"
check "S: alpha above beta" eventually_first alpha beta
keys S
check "S again: the other order" shows "by service v"
check "S again: beta above alpha" eventually_first beta alpha
keys r
check "r: back" shows "by service ^"
check "r: alpha above beta" eventually_first alpha beta
keys '>'
check "> : the next sort key" shows "by type ^"
keys '<'
check "< : back to service" shows "by service ^"
keys B
check "B: by bytes/s again" shows "by bytes/s v"
check "B: alpha above beta" eventually_first alpha beta

keys / b e t a Enter
check "/beta: the filter in the header" shows "filter beta"
check "/beta: beta shown" shows "^beta "
check "/beta: alpha gone" hides "^alpha "
keys / Escape
check "/ Esc: filter cleared" hides "filter beta"
check "/ Esc: alpha back" shows "^alpha "
keys / = 1 Enter
check "/=1: the channels of domain 1" shows "filter =1"
check "/=1: alpha shown, beta gone" sh -c "grep -q '^alpha ' '$OUT/screen' && ! grep -q '^beta ' '$OUT/screen'"
keys / BSpace BSpace Enter
check "/ emptied: filter cleared, both shown" shows "^beta "

keys p
check "p: PAUSED in the header" shows "PAUSED"
screen
cp "$OUT/screen" "$OUT/paused1"
sleep 1.6
screen
check "paused: nothing changes in 3 intervals" cmp -s "$OUT/paused1" "$OUT/screen"
keys p
check "p again: running" hides "PAUSED"
check "running: the figures move again" changes "$OUT/paused1"

keys d
check "d: the per-domain view" shows "^DOMID"
check "d: domain 1 listens on one channel, sends and receives" \
	shows -E "^ +1 dom1 +1 +1 +0 +[0-9.]+[KM]? +[0-9.]+[KM]?"
check "d: domain 4 is a client" shows -E "^ +4 dom4 +0 +0 +1 "
keys d
check "d again: the channels" shows "^SERVICE"

keys +
check "+: a longer interval" shows "interval 1s"
keys - -
check "- -: shorter" shows "interval 0.2s"
keys i 2 . 5 Enter
check "i 2.5: typed" shows "interval 2.5s"
keys i x Enter
check "i x: refused, said why" shows "Not an interval"
keys i 0 . 5 Enter
check "i 0.5" shows "interval 0.5s"

tm resize-window -t top -x 80 -y 24
check "resized to 80x24: the header is there" shows "^Domains "
check "80x24: both channels still shown" shows "^beta "
screen
check "80x24: no line wider than 80, at most 24 lines, no column cut" fits 80 24 table
check "80x24: the services and states still shown" grep -q -E "^alpha .* open " "$OUT/screen"
keys h
check "80x24: help fits" shows "any key returns"
check "80x24: help, no line wider than 80" fits 80 24
keys x

keys q
wait_for "$OUT/status" . >/dev/null
check "q: ivc-top ended, status 0" [ "$(cat "$OUT/status" 2>/dev/null)" = 0 ]
check "q: the pane's process is gone" \
	sh -c "[ \"\$(tmux -L '$SOCK' display-message -p -t top '#{pane_dead}')\" = 1 ]"
check "nothing on stderr" [ ! -s "$OUT/top.err" ]

"$SIM" kill 2 >/dev/null 2>&1
"$SIM" kill 4 >/dev/null 2>&1
wait $c2 $c4 $s1 $s3
check "nothing left on the host after ivc-top" clean
finish
