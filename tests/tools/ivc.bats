#!/usr/bin/env bats
# ivc(1) against a sim host: serve + cat move 100 MB intact in both
# rendezvous modes, the pipe type's half-close, ls/info (text and JSON
# checked against docs/schema/ivc-mon.schema.json), ivc-top's totals
# against the bytes sent, errors and exit
# statuses, and nothing left behind.
#
# usage: bats tests/tools/ivc.bats
#        BUILD=/path/to/build bats tests/tools/ivc.bats
# One host for the file, owned by the bats process (it stops itself if
# bats dies). Brokered tests start mkrenddir and ivc-rendezvousd and stop
# the daemon again; each test uses domains of its own.

setup_file() {
	SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	BUILD=${BUILD:-$SRC/build/default}
	export SRC BUILD
	for f in dom0-tools/ivc sim/ivc-sim sim/ivc-simd sim/xenstored/ivc-xenstored \
		mkrenddir/mkrenddir rendezvous/ivc-rendezvousd; do
		[ -x "$BUILD/$f" ] || {
			echo "no $BUILD/$f: build first (ninja -C $BUILD)" >&2
			return 1
		}
	done
	python3 -c 'import jsonschema' 2>/dev/null ||
		skip "python3-jsonschema not installed"
	PATH=$BUILD/dom0-tools:$BUILD/sim:$BUILD/sim/xenstored:$BUILD/mkrenddir:$BUILD/rendezvous:$PATH
	IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-cli.XXXXXX")
	IVC_SIM_OWNER=$$
	DATA=$IVC_SIM_DIR/data
	export PATH IVC_SIM_DIR IVC_SIM_OWNER DATA
	ivc-sim start >/dev/null
	head -c 100000000 /dev/urandom >"$DATA"
	md5sum <"$DATA" | cut -d' ' -f1 >"$DATA.md5"
}

teardown_file() {
	ivc-sim stop >/dev/null 2>&1
	if [ -n "${IVC_SIM_DIR:-}" ]; then rm -rf "$IVC_SIM_DIR"; fi
}

teardown() {
	# Whatever a test started in the background goes with it: its
	# domains are killed (the host then removes what they held).
	for d in ${BGDOMS:-}; do ivc-sim kill "$d" 2>/dev/null || true; done
	if [ -f "$IVC_SIM_DIR/feeder.pid" ]; then
		kill "$(cat "$IVC_SIM_DIR/feeder.pid")" 2>/dev/null || true
		rm -f "$IVC_SIM_DIR/feeder.pid"
	fi
	if [ -n "${RDVD:-}" ]; then
		stop_daemon
		RDVD=
	fi
	for p in ${BG:-}; do wait "$p" 2>/dev/null || true; done
	BG=
	BGDOMS=
}

# The daemon ends (it removes /rendezvous/daemon), then its tree goes.
stop_daemon() {
	local pid
	pid=$(dom0 xenstore-read /rendezvous/daemon 2>/dev/null) && kill "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	dom0 xenstore-rm /rendezvous 2>/dev/null || true
}

# dom DOMID CMD ARGS...: CMD as domain DOMID, for at most 120 seconds.
dom() {
	local d=$1
	shift
	timeout --foreground -k 5 120 ivc-sim run --domid "$d" -- "$@"
}
dom0() { dom 0 "$@"; }

# 100 MB, then an open pipe until teardown kills it (its pid in feeder.pid).
feeder() { # [bytes]
	echo "$BASHPID" >"$IVC_SIM_DIR/feeder.pid"
	if [ -n "${1:-}" ]; then head -c "$1" "$DATA"; else cat "$DATA"; fi
	exec sleep 60
}

# Runs a domain in the background; teardown kills it.
bg() {
	dom "$@" &
	BG="$BG $!"
	BGDOMS="$BGDOMS $1"
}

expect_status() {
	if [ "$status" -ne "$1" ]; then
		echo "exit status $status, expected $1; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

# Waits (at most 10 s) until a command succeeds.
eventually() {
	for _ in $(seq 200); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@"
}

listed() { dom0 ivc ls --services | grep -q -E "^$1 +$2 "; }

brokered() {
	dom0 mkrenddir >/dev/null
	dom 0 ivc-rendezvousd -f &
	BG="$BG $!"
	RDVD=1
	eventually dom0 xenstore-read /rendezvous/daemon
}

# Nothing held by any domain but dom0's own XenStore nodes.
clean() {
	ivc-sim stats --json | python3 -c '
import json, sys
bad = []
for d in json.load(sys.stdin)["domains"]:
    keys = ["grants", "mappings", "evtchns"]
    if d["domid"] != 0:
        keys += ["xs_nodes", "xs_watches"]
    bad += ["dom%d %s=%d" % (d["domid"], k, d[k]) for k in keys if d[k]]
if bad:
    print("left over: " + ", ".join(bad))
    sys.exit(1)'
}

# 100 MB through `ivc serve NAME -- cat` and back, compared.
round_trip() { # server-domid client-domid name [cat options]
	local s=$1 c=$2 name=$3
	shift 3
	bg "$s" ivc serve "$name" -- cat
	eventually listed "$s" "$name"
	run sh -c "timeout -k 5 120 ivc-sim run --domid $c -- ivc cat $* $name <'$DATA' | md5sum"
	expect_status 0
	[ "${output%% *}" = "$(cat "$DATA.md5")" ] || {
		echo "data changed on the way: $output" >&2
		return 1
	}
}

@test "help, version and usage errors" {
	run ivc --help
	expect_status 0
	for c in ls info cat serve; do [[ $output == *"$c"* ]]; done
	run ivc --version
	expect_status 0
	run ivc
	expect_status 64
	run ivc frobnicate
	expect_status 64
	[[ $output == *"unknown command"* ]]
	run ivc ls extra
	expect_status 64
	run ivc cat
	expect_status 64
	run ivc cat --dir sideways x
	expect_status 64
	run ivc serve name
	expect_status 64
	run ivc serve --max-clients 0 name -- cat
	expect_status 64
	run ivc cat --type org.libivc.pipe:2 x
	expect_status 64
	run ivc info
	expect_status 64
	run ivc cat --help
	expect_status 0
	[[ $output == *"--domid"* ]]
}

# COMPREPLY of a completion function for the words given (the last one
# is being completed), one a line.
complete_words() { # function words...
	local fn=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn"
	printf '%s\n' "${COMPREPLY[@]}"
}

@test "bash completion: commands, options, values" {
	# shellcheck source=/dev/null
	. "$SRC/dom0-tools/ivc.bash-completion"
	run complete_words _ivc ivc s
	[ "$output" = serve ]
	run complete_words _ivc ivc cat --d
	[[ $output == *--domid* && $output == *--dir* ]]
	[[ $output != *--max-clients* ]]
	run complete_words _ivc ivc serve --dir i
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "in inout " ]
	run complete_words _ivc ivc ls --
	[[ $output == *--json* && $output == *--services* ]]
	run complete_words _ivc_top ivc-top --js
	[ "$output" = --json ]
}

@test "ls needs dom0" {
	run dom 31 ivc ls
	expect_status 1
	[[ $output == *"needs dom0"* ]]
}

@test "direct: serve and cat move 100 MB intact" {
	IVC_RENDEZVOUS=direct round_trip 1 2 d-copy --domid 1
}

@test "brokered: serve and cat move 100 MB intact, by name alone" {
	brokered
	IVC_RENDEZVOUS=brokered round_trip 3 4 b-copy
}

@test "the pipe type half-closes: the server answers after our end" {
	IVC_RENDEZVOUS=direct bg 5 ivc serve count -- wc -c
	eventually listed 5 count
	run sh -c "head -c 123456 /dev/zero | ivc-sim run --domid 6 -- ivc cat --domid 5 count"
	expect_status 0
	[ "$(echo "$output" | tr -d ' ')" = 123456 ]
}

@test "ls and info while data flows; JSON valid against the schema" {
	IVC_RENDEZVOUS=direct bg 7 ivc serve flow -- cat
	eventually listed 7 flow
	# A client whose channel stays open while we look: 100 MB, then its
	# stdin stays open until teardown kills its domain.
	(feeder | timeout 60 ivc-sim run --domid 8 -- ivc cat --domid 7 flow >/dev/null) &
	BG="$BG $!"
	BGDOMS="$BGDOMS 8"
	eventually sh -c 'ivc-sim run --domid 0 -- ivc ls --channels | grep -q " flow .* open "'
	run dom0 ivc ls --json
	expect_status 0
	echo "$output" >"$IVC_SIM_DIR/ls.json"
	python3 - "$SRC/docs/schema/ivc-mon.schema.json" "$IVC_SIM_DIR/ls.json" <<'EOF'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
ch = [c for c in doc["channels"] if c["service"] == "flow"]
assert len(ch) == 1, ch
c = ch[0]
assert (c["listener"], c["client"], c["state"]) == (7, 8, "open"), c
assert c["counters"] and c["typed"] and c["type"] == "org.libivc.pipe", c
assert not c["brokered"] and c["mode"] == "message" and c["dir"] == "inout", c
assert c["bytes"][1] > 0 and c["ring"] == [65536, 65536], c
assert c["created"] > 0 and c["created"] <= doc["wall_ms"], c
svc = [s for s in doc["services"] if s["name"] == "flow"]
assert len(svc) == 1 and svc[0]["channels"] == 1 and svc[0]["domid"] == 7, svc
EOF
	id=$(python3 -c 'import json,sys; print([c["id"] for c in json.load(open(sys.argv[1]))["channels"] if c["service"] == "flow"][0])' "$IVC_SIM_DIR/ls.json")
	run dom0 ivc info "$id"
	expect_status 0
	[[ $output == *"listener: domain 7"* && $output == *"client: domain 8"* ]]
	[[ $output == *"state: open"* && $output == *"bytes sent"* ]]
	run dom0 ivc info flow
	expect_status 0
	[[ $output == *"type: org.libivc.pipe version 1, message"* ]]
	[[ $output == *"channels: 1"* ]]
	run dom0 ivc info --json flow
	expect_status 0
	echo "$output" | python3 -c 'import json,sys; d = json.load(sys.stdin); assert [s["name"] for s in d["services"]] == ["flow"] and d["channels"] == [], d'
	run dom0 ivc info no-such-thing
	expect_status 1
}

@test "ivc-top's totals are the bytes sent; the rates fall to 0 when they stop" {
	[ -x "$BUILD/dom0-tools/ivc-top" ] || skip "ivc-top not built (no ncurses)"
	IVC_RENDEZVOUS=direct bg 14 ivc serve count -- cat
	eventually listed 14 count
	# 12345678 bytes there and back, then the channel stays open, idle.
	(feeder 12345678 | timeout 60 ivc-sim run --domid 15 -- ivc cat --domid 14 count >/dev/null) &
	BG="$BG $!"
	BGDOMS="$BGDOMS 15"
	eventually sh -c 'ivc-sim run --domid 0 -- ivc ls --json | grep -q "\"bytes\":\[12345678,12345678\]"'
	run dom0 "$BUILD/dom0-tools/ivc-top" --json -n 2 -d 0.3
	expect_status 0
	echo "$output" | python3 -c '
import json, sys
docs = [json.loads(l) for l in sys.stdin]
assert len(docs) == 2, len(docs)
for d in docs:
    assert d["totals"]["bytes"] == 2 * 12345678, d["totals"]
    c = [c for c in d["channels"] if c["service"] == "count"][0]
    assert c["bytes"] == [12345678, 12345678] and c["used"] == [0, 0], c
assert c["bytes_per_s"] == [0, 0] and docs[1]["totals"]["bytes_per_s"] == 0, docs[1]
'
}

@test "cat: no such service, another type, and the errors say so" {
	brokered
	run dom 9 ivc cat --timeout 2000 nothing-here
	expect_status 1
	[[ $output == *"no such service"* ]]
	IVC_RENDEZVOUS=brokered bg 10 ivc serve typed --type org.example.other:3 -- cat
	eventually listed 10 typed
	run dom 11 ivc cat typed </dev/null
	expect_status 1
	[[ $output == *"another type"* ]]
}

@test "serve stops on SIGTERM and leaves nothing behind" {
	IVC_RENDEZVOUS=direct dom 12 ivc serve bye -- cat &
	job=$!
	eventually listed 12 bye
	run sh -c 'echo hi | ivc-sim run --domid 13 -- ivc cat --domid 12 bye'
	[ "$output" = hi ]
	kill -TERM "$(pgrep -f -x 'ivc serve bye -- cat')"
	wait "$job"
	run dom0 ivc ls --services
	[[ $output != *" bye "* ]]
	eventually clean
}
