#!/bin/sh
# libIVC on real Xen: runs in the lab's dom0 (xen-check.sh boots the lab
# and runs this there). One `ok - ...` / `not ok - ...` line per check, a
# final `N passed, N failed`; exit status 1 if anything failed.
# usage: checks.sh BUILD_DIR
#   IVC_XEN_BULK    bytes each way in the bulk tests (default 16 MiB)
#   IVC_XEN_BUDGET  seconds the checks may take before a watchdog shows
#                   where they are and ends them (default: no limit)
#   IVC_XEN_SCALE   channels in the many-channels section (default 300)
#   IVC_XEN_PERF    0: no performance section (a benchmark; default 1)
#   IVC_XEN_PERF_ROUNDS  its rounds, libIVC and libxenvchan in turn (default 9)
#   IVC_XEN_SMOKE   1: the short run of `make check`: not the PVH, domU <->
#                   domU, many-channels and guest-echo sections (default 0)
#   IVC_XEN_LIVENESS  brokered channels in the liveness check (default 500)
#   IVC_XEN_ONLY    perf: the performance section alone (`make xen-perf`)
set -u
B=$(cd "$1" && pwd)
PEER=$B/tests/api/api-peer
PLAT=$B/tests/xen/test-xen-plat
BULK=${IVC_XEN_BULK:-16777216}
T=/tmp/xen-check
rm -rf "$T"
mkdir -p "$T"
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
note() { echo "# $*"; }
now() { "$PEER" now; }
show() { sed 's/^/#   /' "$@"; } # a file's lines as comments
# Waits until process $1 has ended, for at most $2 tenths of a second.
until_gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt "$2" ]; do usleep 100000; _i=$((_i + 1)); done
}
start=$(cut -d' ' -f1 /proc/uptime)
section() {
	echo "$*" >"$T/section"
	echo "# == $* (at $(awk "BEGIN { printf \"%d\", $(cut -d' ' -f1 /proc/uptime) - $start }") s)"
}
# A section that the smoke run (IVC_XEN_SMOKE=1, `make check`) leaves to
# `make xen-check`: 0 when it is to run.
full_section() {
	if [ "${IVC_XEN_SMOKE:-0}" = 1 ]; then
		echo "# == $*: not run (IVC_XEN_SMOKE=1, as in make check: make xen-check runs it)"
		return 1
	fi
	section "$@"
}
# A watchdog: IVC_XEN_BUDGET seconds after the start it shows where the
# checks were and what was running, then ends them. A hang then costs its
# budget, not the lab's hard timeout, and says where it happened (run.sh
# only sees QEMU go on).
if [ -n "${IVC_XEN_BUDGET:-}" ]; then
	main=$$
	(
		sleep "$IVC_XEN_BUDGET"
		echo "not ok - the checks ran out of time (IVC_XEN_BUDGET=$IVC_XEN_BUDGET s) in section: $(cat "$T/section" 2>/dev/null)"
		note "processes:"
		ps -o pid,ppid,stat,args 2>/dev/null | awk '$1 != 2 && $2 != 2' | show
		note "dom0 kernel, last messages:"
		dmesg | tail -n 15 | show
		note "domains:"
		xl list 2>&1 | show
		note "Xen's last messages:"
		xl dmesg 2>&1 | tail -n 30 | show
		for f in $(ls -t /var/log/xen/console/guest-*.log 2>/dev/null | head -n 3); do
			note "$f, its end:"
			tail -n 8 "$f" | show
		done
		note "/rendezvous:"
		xenstore-ls -f /rendezvous 2>&1 | head -n 40 | show
		kill -KILL $main
	) &
	watchdog=$!
fi

for f in "$PEER" "$PLAT"; do
	[ -x "$f" ] || { echo "not ok - $f missing (build first)"; echo "0 passed, 1 failed"; exit 1; }
done
note "Xen $(xl info | sed -n 's/^xen_version *: //p'), dom0 $(uname -r), gntalloc limit $(cat /sys/module/xen_gntalloc/parameters/limit)"

# ---- what libIVC holds in dom0: XenStore nodes, event channels, grants ----
evtchns() { lsevtchn 0 2>/dev/null | grep -c -E 'Interdomain|Unbound'; }
# Active entries of dom0's grant table ('g' debug key, read from Xen's log).
grants() {
	xl dmesg -c >/dev/null
	xl debug-keys g
	xl dmesg -c | awk '/grant-table for remote d/ { d = $5 } d == "d0" && /\[0x/ { n++ }
		END { print n + 0 }'
}
base_ev=$(evtchns)
base_gr=$(grants)
note "dom0 at rest: $base_ev interdomain/unbound event channels, $base_gr active grants"
# Nothing of libIVC's left in dom0 (the empty data/ivc directory aside).
clean() {
	i=0
	while :; do # the kernel ends grants the peer still mapped a bit later
		ivc=$(xenstore-list /local/domain/0/data/ivc /local/domain/0/data/ivc-client /local/domain/0/data/ivc-listener 2>/dev/null | tr '\n' ' ')
		ev=$(evtchns)
		gr=$(grants)
		dying=$(xl list | awk 'NR > 1 && $5 ~ /d/' | wc -l)
		[ -z "$ivc" ] && [ "$ev" = "$base_ev" ] && [ "$gr" = "$base_gr" ] && [ "$dying" = 0 ] && return 0
		i=$((i + 1))
		[ $i -ge 10 ] && break
		sleep 1
	done
	echo "# left over in dom0: XenStore data/ivc, ivc-client, ivc-listener: [$ivc], event channels $ev (at rest $base_ev), active grants $gr (at rest $base_gr), dying domains $dying"
	return 1
}

finish() {
	section "end"
	[ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
	exit
}

# IVC_XEN_ONLY=perf (`make xen-perf`): the performance section alone.
if [ "${IVC_XEN_ONLY:-}" = perf ]; then
	. "$(dirname "$0")/perf-section.sh"
	finish
fi

# ---- 1. the xen platform against Xen itself (dom0) -----------------------
section "the xen platform in dom0"
"$PLAT" >"$T/plat.out" 2>&1
rc=$?
show "$T/plat.out"
check "test-xen-plat in dom0 (grants and event channels against Xen)" [ $rc = 0 ]

# ---- 2. the API between two processes of dom0 ------------------------------
section "dom0 <-> dom0"
SCEN="dirmode sizes bulk:$BULK:message bulk:$BULK:stream mismatch inflight timeouts evloop"
desc() { echo "$1" | sed 's/^bulk:\([0-9]*\):\(.*\)/bulk, \2 mode, \1 bytes each way/'; }
args() { echo "$1" | tr : ' '; }
for s in $SCEN; do
	# shellcheck disable=SC2046
	"$PEER" serve $(args "$s") >"$T/s.out" 2>&1 &
	a=$!
	# shellcheck disable=SC2046
	"$PEER" connect 0 $(args "$s") >"$T/c.out" 2>&1
	rb=$?
	wait $a
	ra=$?
	grep -h '^bulk' "$T/s.out" | sed 's/^/# /'
	[ "$ra$rb" = 00 ] || { show "$T/s.out"; show "$T/c.out"; }
	check "dom0 <-> dom0: $(desc "$s")" [ "$ra$rb" = 00 ]
done
# An idle listener's thread sleeps through the xen platform's ticks (one
# every 50 ms, sleep.c): only the end of its own sleep (a second at most,
# direct.c) wakes it, a few times a second (18 in 5 s in one run). Before,
# every tick did: 108 in 5 s.
IDB=$B/tests/bench/ivc-bench
"$IDB" serve --name idle --clients 1 >"$T/idle.out" 2>&1 &
a=$!
sleep 2
csw() { awk '/^voluntary_ctxt_switches/ { print $2 }' /proc/$a/task/$a/status 2>/dev/null; }
w0=$(csw)
sleep 5
w1=$(csw)
"$IDB" run 0 --name idle --sizes 64 --reps 1 --rtts 10 --tests ivc-rtt >"$T/idlec.out" 2>&1
rc=$?
wait $a
woke=$((${w1:-0} - ${w0:-0}))
[ $rc = 0 ] && [ -n "$w0" ] || { show "$T/idle.out"; show "$T/idlec.out"; }
idle_ok() { [ $rc = 0 ] && [ -n "$w0" ] && [ "$woke" -le 40 ]; }
check "dom0: an idle listener's thread woke $woke times in 5 s (at most 40), then served" idle_ok
check "dom0 <-> dom0: nothing left" clean

# ---- 3. the API between dom0 and a PV domU ---------------------------------
section "dom0 <-> PV domU"
# One domU runs test-xen-plat, then the client side of every scenario in
# turn, then serves dirmode to dom0; dom0 serves each scenario once the
# domU is up (an accept waits 10 s at most, less than a domU's boot).
# Each client line ends with "@@rc SCENARIO STATUS".
cmd="$PLAT; echo \"@@rc plat \$?\"
export IVC_TEST_CONNECT_MS=60000
for s in $SCEN; do $PEER connect 0 \$(echo \$s | tr : ' '); echo \"@@rc \$s \$?\"; done
$PEER serve dirmode; echo \"@@rc reverse \$?\""
t0=$(now)
if dom=$(lab-domu -m 256 --start -f "$PEER" -f "$PLAT" api "$cmd" 2>"$T/start.err"); then
	ok "PV domU 'api' (domid $dom) up in $(($(now) - t0)) ms"
	for s in $SCEN; do
		# shellcheck disable=SC2046
		"$PEER" serve $(args "$s") >"$T/s.$s.out" 2>&1
		echo $? >"$T/s.$s.rc"
	done
	IVC_TEST_CONNECT_MS=60000 "$PEER" connect "$dom" dirmode >"$T/r.out" 2>&1
	rr=$?
	lab-domu --wait -t 600 api >"$T/api.out" 2>&1
	ru=$?
	rcof() { sed -n "s/^@@rc $1 \([0-9]*\)\$/\1/p" "$T/api.out"; }
	# in the domU: everything but the @@rc lines, for the record
	grep -v '^@@rc' "$T/api.out" | sed 's/^/# domU: /'
	check "test-xen-plat in a PV domU" [ "$(rcof plat)" = 0 ]
	for s in $SCEN; do
		rs=$(cat "$T/s.$s.rc")
		[ "$rs" = 0 ] || show "$T/s.$s.out"
		check "dom0 (listener) <-> PV domU (client): $(desc "$s")" [ "$rs/$(rcof "$s")" = 0/0 ]
	done
	[ $rr = 0 ] || show "$T/r.out"
	check "PV domU (listener) <-> dom0 (client): dirmode" [ "$rr/$(rcof reverse)" = 0/0 ]
	check "the domU's commands ended (status $ru)" [ $ru = 0 ]
else
	show "$T/start.err"
	bad "PV domU 'api' did not start"
fi
check "dom0 <-> domU: nothing left in dom0" clean

# ---- 3a'. a dom0 service under churn: grants come back ---------------------
# One ivc-bench server in dom0, CHURN clients one after another from a PV
# domU, 4 MiB rings (2048 pages per channel or more). The server closes
# each channel while its client may still map it; Linux frees a grant
# released in that state ten a second, so without the library holding it
# until the client unmaps (chan.c, hold_mapped), dom0's 32768 grant
# references (64 frames) ran out after some 30 such clients and every
# accept after failed (ENOSPC).
CHURN=40
IB=$B/tests/bench/ivc-bench
"$IB" serve --name churn --clients $CHURN >"$T/churn.s" 2>&1 &
cp=$!
cmd="i=1; while [ \$i -le $CHURN ]; do $IB run 0 --name churn --sizes 64 --reps 1 --rtts 10 --tests ivc-rtt >/dev/null 2>/tmp/e || { echo \"@@fail \$i\"; cat /tmp/e; }; i=\$((i + 1)); done; echo @@end"
if lab-domu -m 256 -t 600 -f "$IB" churn "$cmd" >"$T/churn.c" 2>&1; then
	until_gone $cp 100 # it has its clients, unless some failed
	kill $cp 2>/dev/null
	wait $cp
	sr=$?
	nf=$(grep -c '^@@fail' "$T/churn.c")
	grep -q '^@@end' "$T/churn.c" || nf=ended-early
	[ "$sr/$nf" = 0/0 ] || { show "$T/churn.c"; show "$T/churn.s"; }
	check "dom0 service, $CHURN clients with 4 MiB rings one after another: all served (server status $sr, clients failed: $nf)" \
		[ "$sr/$nf" = 0/0 ]
	xl dmesg -c >/dev/null
	xl debug-keys g
	note "dom0's grant table after them:$(xl dmesg -c | awk '/grant-table for remote d/ { d = $5 } d == "d0" && /frames/ { $1 = ""; print; exit }')"
else
	show "$T/churn.c"
	bad "PV domU 'churn' failed"
	kill $cp 2>/dev/null
	wait $cp
fi
check "churn: nothing left in dom0" clean

# ---- 3b. the API between dom0 and a PVH domU --------------------------------
if full_section "dom0 <-> PVH domU"; then
SCH="dirmode sizes bulk:$BULK:stream"
cmd="export IVC_TEST_CONNECT_MS=60000
for s in $SCH; do $PEER connect 0 \$(echo \$s | tr : ' '); echo \"@@rc \$s \$?\"; done"
# A PVH guest (HVM under QEMU's emulated SVM) now and then triple-faults,
# in its boot or later (seen in about one lab run in three, during the
# sizes scenario): a lab flake we have not traced. A failed boot is
# retried twice; the whole run is repeated, at most twice, when Xen logged
# the domain's triple fault (shown).
pvh_run() {
	t0=$(now)
	for _boot in 1 2; do # a failed boot is tried twice more
		dom=$(lab-domu --pvh -m 256 --start -f "$PEER" pvh "$cmd" 2>"$T/start.err") && break
		note "PVH domU: boot failed, retrying:"
		show "$T/start.err"
		t0=$(now)
	done
	[ -n "$dom" ] || dom=$(lab-domu --pvh -m 256 --start -f "$PEER" pvh "$cmd" 2>"$T/start.err")
	[ -n "$dom" ] || return 1
	up=$(($(now) - t0))
	for s in $SCH; do
		# shellcheck disable=SC2046
		"$PEER" serve $(args "$s") >"$T/s.$s.out" 2>&1
		echo $? >"$T/s.$s.rc"
	done
	lab-domu --wait -t 600 pvh >"$T/pvh.out" 2>&1
	xl dmesg | grep "d${dom}v[0-9]* Triple fault" >"$T/pvh.tf"
	return 0
}
pvh_run
for _try in 1 2; do # at most twice more
	[ -n "$dom" ] && [ -s "$T/pvh.tf" ] || break
	note "PVH domU (domid $dom) triple-faulted under emulation; the run is repeated:"
	show "$T/pvh.tf"
	grep -v '^@@rc' "$T/pvh.out" | sed 's/^/# domU (failed run): /'
	pvh_run
done
if [ -n "$dom" ]; then
	ok "PVH domU 'pvh' (domid $dom) up in $up ms"
	grep -v '^@@rc' "$T/pvh.out" | sed 's/^/# domU: /'
	for s in $SCH; do
		rs=$(cat "$T/s.$s.rc")
		ru=$(sed -n "s/^@@rc $s \([0-9]*\)\$/\1/p" "$T/pvh.out")
		[ "$rs" = 0 ] || show "$T/s.$s.out"
		check "dom0 (listener) <-> PVH domU (client): $(desc "$s")" [ "$rs/$ru" = 0/0 ]
	done
else
	show "$T/start.err"
	bad "PVH domU 'pvh' did not start"
fi
check "dom0 <-> PVH domU: nothing left in dom0" clean
fi # "dom0 <-> PVH domU" (IVC_XEN_SMOKE skips it)

# ---- 4. peer death: xl destroy of the domU mid-transfer ---------------------
section "peer death"
# dom0 blocked in ivc_send (listener) or ivc_recv (client) must fail with
# ECONNRESET: the library looks at the peer's domain every 50 ms while
# blocked. Measured in dom0 from the start of `xl destroy`.
# usage: victim ROLE (listener: dom0 serves; client: dom0 connects)
victim() {
	role=$1 name=victim-$1
	if [ "$role" = listener ]; then
		dcmd="IVC_TEST_CONNECT_MS=60000 $PEER connect 0 victim"
	else
		dcmd="IVC_TEST_CONNECT_MS=60000 $PEER serve victim"
	fi
	dom=$(lab-domu --start -f "$PEER" "$name" "$dcmd" 2>"$T/start.err") || {
		show "$T/start.err"
		bad "peer death ($role): domU did not start"
		return
	}
	if [ "$role" = listener ]; then
		IVC_TEST_CONNECT_MS=60000 "$PEER" serve victim >"$T/v.out" 2>&1 &
	else
		IVC_TEST_CONNECT_MS=60000 "$PEER" connect "$dom" victim >"$T/v.out" 2>&1 &
	fi
	a=$!
	i=0
	until grep -q '^ready' "$T/v.out" && lab-domu --output "$name" | grep -q '^ready'; do
		i=$((i + 1))
		[ $i -gt 300 ] && break
		usleep 100000
	done
	sleep 1 # mid-transfer
	t0=$(now)
	xl destroy "$name"
	t1=$(now)
	until_gone $a 100
	kill -9 $a 2>/dev/null
	wait $a
	ra=$?
	te=$(sed -n 's/^error .* at \([0-9]*\)$/\1/p' "$T/v.out")
	show "$T/v.out"
	if grep -q '^error Connection reset by peer' "$T/v.out" && [ -n "$te" ]; then
		dt=$((te - t0))
		note "peer death ($role): xl destroy took $((t1 - t0)) ms; ECONNRESET $dt ms after it started, $((te - t1)) ms after it returned"
		# the domain is gone when xl destroy returns; then 50 ms polling
		check "peer death, dom0 as $role: ECONNRESET $dt ms after xl destroy began ($((te - t1)) ms after it returned; bound 1000)" \
			[ $((te - t1)) -le 1000 ]
	else
		bad "peer death, dom0 as $role: no ECONNRESET in dom0 (status $ra)"
	fi
	check "peer death, dom0 as $role: dom0's process exited 0" [ $ra = 0 ]
	check "peer death, dom0 as $role: nothing left in dom0" clean
	lab-domu --wait "$name" >/dev/null 2>&1
}
victim listener
victim client

# ---- 5. XenStore permissions, enforced by the real xenstored ----------------
section "XenStore permissions"
# dom0 keeps a key of its own (n0), grants one key to domain 9999 only,
# and publishes one to all (r0). A domU must read only the last, and write
# neither dom0's area nor another domain's (the 'iso-b' domU's).
D=/local/domain/0/data/lab
xenstore-write $D/secret s1 $D/granted s2 $D/public s3
xenstore-chmod $D n0
xenstore-chmod $D/secret n0
xenstore-chmod $D/granted n0 r9999
xenstore-chmod $D/public r0
if dom_b=$(lab-domu --start iso-b 'sleep 600' 2>"$T/start.err"); then
	icmd='r() { xenstore-read "$1" >/dev/null 2>&1 && echo "@@iso read $1 yes" || echo "@@iso read $1 no"; }
w() { xenstore-write "$1" x >/dev/null 2>&1 && echo "@@iso write $1 yes" || echo "@@iso write $1 no"; }
me=$(xenstore-read domid)
r '"$D"'/public; r '"$D"'/secret; r '"$D"'/granted
w '"$D"'/public; w '"$D"'/new; w /local/domain/0/data/new; w /local/domain/'"$dom_b"'/data/new
w /local/domain/$me/data/mine; r /local/domain/$me/data/mine
xenstore-ls /local/domain/0/data >/dev/null 2>&1 && echo "@@iso list dom0-data yes" || echo "@@iso list dom0-data no"'
	lab-domu iso-a "$icmd" >"$T/iso.out" 2>&1
	grep -v '^@@iso' "$T/iso.out" | sed 's/^/# domU: /'
	iso() { grep -q "^@@iso $1 $2\$" "$T/iso.out"; }
	check "XenStore: a domU reads a key dom0 made readable to all" iso "read $D/public" yes
	check "XenStore: a domU cannot read a key of dom0's (n0)" iso "read $D/secret" no
	check "XenStore: a domU cannot read a key granted to another domain only" iso "read $D/granted" no
	check "XenStore: a domU cannot list dom0's data/ (n0)" iso "list dom0-data" no
	check "XenStore: a domU cannot overwrite a read-only key of dom0's" iso "write $D/public" no
	check "XenStore: a domU cannot create a node in dom0's area" iso "write $D/new" no
	check "XenStore: a domU cannot create a node in dom0's data/" iso "write /local/domain/0/data/new" no
	check "XenStore: a domU cannot write another domU's data/ (domid $dom_b)" iso "write /local/domain/$dom_b/data/new" no
	check "XenStore: a domU writes and reads its own data/" iso "read /local/domain/[0-9]*/data/mine" yes
	check "XenStore: dom0's keys unchanged" [ "$(xenstore-read $D/public $D/secret $D/granted | tr '\n' ' ')" = "s3 s1 s2 " ]
	xl destroy iso-b
else
	show "$T/start.err"
	bad "XenStore isolation: domUs did not start"
fi
xenstore-rm $D

# ---- 6. domU <-> domU ------------------------------------------------------
if full_section "domU <-> domU"; then
SC2="dirmode bulk:$BULK:stream"
if dom_s=$(lab-domu -m 256 --start -f "$PEER" uu-server \
	"export IVC_TEST_CONNECT_MS=120000; for s in $SC2; do $PEER serve \$(echo \$s | tr : ' '); echo \"@@rc \$s \$?\"; done" 2>"$T/start.err"); then
	lab-domu -m 256 -t 600 -f "$PEER" uu-client \
		"export IVC_TEST_CONNECT_MS=120000; for s in $SC2; do $PEER connect $dom_s \$(echo \$s | tr : ' '); echo \"@@rc \$s \$?\"; done" >"$T/uc.out" 2>&1
	lab-domu --wait -t 120 uu-server >"$T/us.out" 2>&1
	for s in $SC2; do
		rs=$(sed -n "s/^@@rc $s \([0-9]*\)\$/\1/p" "$T/us.out")
		rc=$(sed -n "s/^@@rc $s \([0-9]*\)\$/\1/p" "$T/uc.out")
		[ "$rs$rc" = 00 ] || { show "$T/us.out"; show "$T/uc.out"; }
		check "PV domU (listener) <-> PV domU (client): $(desc "$s")" [ "$rs$rc" = 00 ]
	done
else
	show "$T/start.err"
	bad "domU <-> domU: domU did not start"
fi

# Peer death between domUs: the survivor is a domU, which may not ask Xen
# about other domains (libIVC reads the peer's XenStore node instead, which
# the toolstack removes with the domain); its blocked call must still fail.
# Both ways: the listener survives, then the client. Measured in dom0
# (polling the survivor's console every 100 ms).
for sv in listener client; do
	if [ $sv = listener ]; then
		first=uu-survivor second=uu-victim
	else
		first=uu-victim second=uu-survivor
	fi
	if dom_l=$(lab-domu --start -f "$PEER" $first \
		"IVC_TEST_CONNECT_MS=120000 $PEER serve victim" 2>"$T/start.err") &&
		dom_c=$(lab-domu --start -f "$PEER" $second \
			"IVC_TEST_CONNECT_MS=120000 $PEER connect $dom_l victim" 2>>"$T/start.err"); then
		i=0
		until lab-domu --output uu-survivor | grep -q '^ready' && lab-domu --output uu-victim | grep -q '^ready'; do
			i=$((i + 1))
			[ $i -gt 300 ] && break
			usleep 100000
		done
		sleep 1
		# The survivor's XenStore watches, as xenstored counts them (a
		# domU cannot ask Xen about its peer: it watches its presence
		# node), where this xenstored can say.
		[ $sv = listener ] && sdom=$dom_l || sdom=$dom_c
		xenstore-control quota "$sdom" >"$T/quota.out" 2>&1
		show "$T/quota.out"
		sw=$(awk 'tolower($0) ~ /watch/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' "$T/quota.out")
		t0=$(now)
		xl destroy uu-victim
		t1=$(now)
		te=""
		while [ $(($(now) - t0)) -lt 15000 ]; do
			lab-domu --output uu-survivor | grep -q '^error' && { te=$(now); break; }
			usleep 100000
		done
		lab-domu --wait -t 5 uu-survivor >"$T/uus.out" 2>&1
		ru=$?
		show "$T/uus.out"
		if [ -n "$te" ] && grep -q '^error Connection reset by peer' "$T/uus.out"; then
			check "peer death, domU <-> domU: the surviving domU ($sv) got ECONNRESET, seen by dom0 $((te - t0)) ms after xl destroy began (xl destroy took $((t1 - t0)) ms; bound 5000)" \
				[ $((te - t0)) -le 5000 ]
		else
			bad "peer death, domU <-> domU: the surviving domU ($sv) saw no ECONNRESET within 15 s of xl destroy"
		fi
		check "peer death, domU <-> domU: the survivor's ($sv) process exited 0 (status $ru)" [ $ru = 0 ]
		# Its kernel's watches count too, so this is a record, not a
		# check (the sim test counts the library's watches exactly).
		note "the survivor ($sv) held ${sw:-an unknown number of} XenStore watches, its kernel's included"
	else
		show "$T/start.err"
		bad "peer death, domU <-> domU ($sv survives): domUs did not start"
		xl destroy uu-survivor 2>/dev/null
		xl destroy uu-victim 2>/dev/null
	fi
done
check "domU <-> domU: nothing left in dom0" clean
fi # "domU <-> domU" (IVC_XEN_SMOKE skips it)

# ---- 8. many channels, few descriptors ---------------------------------------
# One context per process, whatever the number of channels (issue 9): dom0
# serves N + 10 clients with examples/echo-server (ivc_wait, one thread);
# a PV domU opens 10, then N channels with examples/echo-many, checksummed
# echoes on each. Both processes hold as many descriptors with N channels
# as with 10. (N pages x 3 stay under gntalloc's default limit of 1024.)
if full_section "many channels"; then
N=${IVC_XEN_SCALE:-300}
EX=$B/examples
"$EX/echo-server" --name scale --clients $((N + 10)) --ring 4096 >"$T/scale.s" 2>&1 &
sp=$!
if lab-domu -m 256 --start -f "$EX/echo-many" scale \
	"for n in 10 $N; do $EX/echo-many 0 --name scale --channels \$n --rounds 3 --hold 4000; echo \"@@rc \$n \$?\"; done" >/dev/null 2>"$T/start.err"; then
	sf10="" sfn="" i=0
	t0=$(now)
	while [ $i -lt 3000 ] && [ -z "$sfn" ]; do
		out=$(lab-domu --output scale)
		[ -z "$sf10" ] && echo "$out" | grep -q "^echo-many: 10 channels open" &&
			sf10=$(ls "/proc/$sp/fd" | wc -l)
		echo "$out" | grep -q "^echo-many: $N channels open" && sfn=$(ls "/proc/$sp/fd" | wc -l)
		i=$((i + 1))
		usleep 100000
	done
	note "$N channels opened and used once $(($(now) - t0)) ms after the domU started"
	lab-domu --wait -t 600 scale >"$T/scale.c" 2>&1
	wait $sp
	rs=$?
	show "$T/scale.c"
	rc10=$(sed -n 's/^@@rc 10 \([0-9]*\)$/\1/p' "$T/scale.c")
	rcn=$(sed -n "s/^@@rc $N \\([0-9]*\\)\$/\\1/p" "$T/scale.c")
	c10=$(sed -n 's/^echo-many: 10 channels open, \([0-9]*\) descriptors.*/\1/p' "$T/scale.c")
	cn=$(sed -n "s/^echo-many: $N channels open, \\([0-9]*\\) descriptors.*/\\1/p" "$T/scale.c")
	[ "$rs/$rc10/$rcn" = 0/0/0 ] || show "$T/scale.s"
	check "dom0 (echo-server) <-> PV domU (echo-many): 10, then $N channels, every echo checked" \
		[ "$rs/$rc10/$rcn" = 0/0/0 ]
	check "many channels: the domU's descriptors with 10 and $N channels: $c10, $cn" \
		sh -c "[ -n '$cn' ] && [ '$cn' = '$c10' ]"
	check "many channels: dom0's descriptors with 10 and $N channels: $sf10, $sfn" \
		sh -c "[ -n '$sfn' ] && [ '$sfn' = '$sf10' ]"
else
	show "$T/start.err"
	bad "many channels: domU did not start"
	kill $sp 2>/dev/null
fi
check "many channels: nothing left in dom0" clean
fi # "many channels" (IVC_XEN_SMOKE skips it)

# ---- 8a. the dom0 tools: ivc and ivc-top on real Xen ---------------------------
# `ivc serve` in dom0 and `ivc cat` in a PV domU move data both ways,
# checked in the domU; then, while channels carry data slowly, dom0 lists
# them with their figures, which it reads from each listener's control
# page by its own rights (spec 11.3): dom0's own page, and a domU's.
section "dom0 tools"
IVC=$B/dom0-tools/ivc
TOP=$B/dom0-tools/ivc-top
# An open channel whose figures were read, in ivc ls --json (the field
# order of dom0-tools/monjson.c).
live() { # service listener client file [brokered]
	grep -q "\"brokered\":${5:-false},\"counters\":true,\"typed\":true,\"listener\":$2,\"client\":$3,\"service\":\"$1\",[^}]*\"state\":\"open\"" "$4"
}
slow() { # 60 x 64 KiB, 0.1 s apart: a channel that lives 6 s or more
	i=0
	while [ $i -lt 60 ]; do
		head -c 65536 /dev/zero
		usleep 100000
		i=$((i + 1))
	done
}
if [ -x "$IVC" ]; then
	"$IVC" serve up -- tr a-z A-Z >"$T/up.out" 2>&1 &
	up=$!
	"$IVC" serve count -- wc -c >"$T/count.out" 2>&1 &
	cnt=$!
	dcmd="head -c 2000000 /dev/urandom >/tmp/r
a=\$($IVC cat --domid 0 up </tmp/r | md5sum); b=\$(tr a-z A-Z </tmp/r | md5sum)
[ \"\$a\" = \"\$b\" ]; echo \"@@rc cat \$?\"
n=\$(head -c 123456 /dev/zero | $IVC cat --domid 0 count | tr -d ' '); [ \"\$n\" = 123456 ]; echo \"@@rc half \$?\"
i=0; while [ \$i -lt 30 ]; do head -c 65536 /tmp/r; usleep 100000; i=\$((i + 1)); done | $IVC cat --domid 0 up >/dev/null; echo \"@@rc slow \$?\"
$IVC serve flow -- cat & sp=\$!; i=0
until xenstore-read data/lab-done >/dev/null 2>&1 || [ \$i -gt 900 ]; do usleep 100000; i=\$((i + 1)); done
kill \$sp; wait \$sp; echo \"@@rc serve \$?\""
	if dom=$(lab-domu -m 256 --start -f "$IVC" tools "$dcmd" 2>"$T/start.err"); then
		i=0
		until lab-domu --output tools | grep -q '^@@rc cat' || [ $i -gt 600 ]; do
			i=$((i + 1))
			usleep 100000
		done
		usleep 1000000 # into the slow phase
		"$IVC" ls --json >"$T/ls0.json" 2>&1
		i=0
		until xenstore-exists "/local/domain/$dom/data/ivc/flow/protocol" || [ $i -gt 300 ]; do
			i=$((i + 1))
			usleep 100000
		done
		slow | "$IVC" cat --domid "$dom" flow >/dev/null 2>"$T/flow.err" &
		fl=$!
		usleep 1000000
		"$IVC" ls --json >"$T/ls1.json" 2>&1
		id=$(sed -n 's/.*"id":"\([0-9]*:0-[0-9a-f]*\)","flags":[0-9]*,"brokered":false,"counters":true,"typed":true,"listener":'"$dom"',"client":0,"service":"flow".*/\1/p' "$T/ls1.json")
		"$IVC" info "$id" >"$T/info.out" 2>&1
		grep -q 'bytes sent' "$T/info.out" || show "$T/info.out"
		check "ivc info $id: both ends, open, figures" grep -q "listener: domain $dom" "$T/info.out"
		check "ivc info: its figures" grep -q 'bytes sent' "$T/info.out"
		rt=0
		[ -x "$TOP" ] && { "$TOP" -b -n 2 -d 0.5 >"$T/top.out" 2>&1 || rt=$?; }
		wait $fl
		rf=$?
		xenstore-write "/local/domain/$dom/data/lab-done" 1 # the domU's serve may end
		lab-domu --wait -t 120 tools >"$T/tools.out" 2>&1
		rcof() { sed -n "s/^@@rc $1 \([0-9]*\)\$/\1/p" "$T/tools.out"; }
		[ "$(rcof cat)/$(rcof slow)" = 0/0 ] || show "$T/tools.out"
		check "ivc: serve in dom0, cat in a PV domU: 2 MB there and back intact" [ "$(rcof cat)" = 0 ]
		check "ivc: a slow cat from the domU ended well" [ "$(rcof slow)" = 0 ]
		check "ivc: the pipe type's half-close (wc -c in dom0 answers after the domU's end)" [ "$(rcof half)" = 0 ]
		live up 0 "$dom" "$T/ls0.json" || show "$T/ls0.json"
		check "ivc ls: dom0's own channel listed open, its figures read (dom0's page)" live up 0 "$dom" "$T/ls0.json"
		live flow "$dom" 0 "$T/ls1.json" || show "$T/ls1.json"
		check "ivc ls: a domU listener's channel listed open, its figures read (the domU's page, by dom0's rights)" live flow "$dom" 0 "$T/ls1.json"
		if [ -x "$TOP" ]; then
			[ $rt = 0 ] || show "$T/top.out"
			check "ivc-top -b: two iterations, the domU's channel in them" sh -c "[ $rt = 0 ] && [ \$(grep -c '^flow ' '$T/top.out') -ge 2 ]"
		fi
		[ $rf = 0 ] || show "$T/flow.err"
		check "ivc: dom0's cat to the domU's service ended well" [ $rf = 0 ]
	else
		show "$T/start.err"
		bad "dom0 tools: domU did not start"
	fi
	kill $cnt 2>/dev/null
	wait $cnt
	kill $up 2>/dev/null
	wait $up
	ru=$?
	check "ivc serve in dom0 stopped by SIGTERM (status $ru)" [ $ru = 0 ]
fi
check "dom0 tools: nothing left in dom0" clean

# ---- 8b. brokered mode: mkrenddir, the daemon, connect by name -----------------
# Spec 9.11 on the real xenstored: dom0 runs mkrenddir and ivc-rendezvousd;
# PV domUs find services by name (in dom0 and in another domU), a guest
# probes /rendezvous with the real xenstore tools, `xl destroy` is cleaned
# up, and the daemon is SIGKILLed and restarted with traffic flowing. The
# daemon is stopped in an orderly way at the end, so the sections after
# this one run in direct mode again.
section "brokered mode"
BP=$B/tests/broker/broker-peer
RDV=$B/rendezvous/ivc-rendezvousd
MKR=$B/mkrenddir/mkrenddir
rdv_up() { # daemon arguments
	"$RDV" -f -v "$@" >>"$T/rdvd.log" 2>&1 &
	rdv=$!
	i=0
	until xenstore-read /rendezvous/daemon >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		usleep 50000
	done
}
bk_clean() { # no area but dom0's, and dom0's empty
	l=$(xenstore-list /rendezvous | grep -v -x -e protocol -e daemon -e 0 | tr '\n' ' ')
	e=$(xenstore-list /rendezvous/0/req /rendezvous/0/ans /rendezvous/0/chan 2>&1 | tr '\n' ' ')
	[ -z "$l$e" ] || { echo "# left under /rendezvous: areas [$l], dom0's [$e]"; return 1; }
}
if [ -x "$BP" ] && [ -x "$RDV" ] && [ -x "$MKR" ]; then
	check "mkrenddir creates /rendezvous" "$MKR" -q
	check "mkrenddir --check: the tree is right" "$MKR" --check -q
	check "mkrenddir again: nothing to do (idempotent)" "$MKR" -q
	if rdv_up; then
		ok "ivc-rendezvousd serves"
		# Its clients: bk-client's 4 channels, bk-holder's, bk-traffic's.
		"$BP" serve echo -n 6 >"$T/bs0.out" 2>&1 &
		s0=$!
		lab-domu -f "$BP" bk-client "$BP connect any echo -c 200 && $BP connect 0 echo -c 100 -k 3" >"$T/bc.out" 2>&1
		rc=$?
		[ $rc = 0 ] || show "$T/bc.out"
		check "brokered: a PV domU reaches dom0's service by name alone and by (0, name), echoes checked" [ $rc = 0 ]
		# A domU's processes share one XenStore connection, and with it
		# xenstored's quota of open transactions: 12 holders fill it
		# (some refused), 12 connects start, a second later the holders
		# let go, and every connect gets through (those that asked in
		# that second waited: their times are shown).
		XH=$B/tests/broker/xs-hold
		"$BP" serve busy -n 12 >"$T/bsb.out" 2>&1 &
		sb=$!
		lab-domu -f "$BP" -f "$XH" bk-busy "
			for i in \$(seq 12); do $XH 60000 /tmp/go >/tmp/h\$i 2>&1 & done
			for i in \$(seq 400); do [ \$(cat /tmp/h* | wc -l) = 12 ] && break; sleep 0.05; done
			echo @@held \$(cat /tmp/h* | grep -c '^holding') refused \$(cat /tmp/h* | grep -c '^refused: No space')
			for i in \$(seq 12); do $BP connect 0 busy -c 10 -L >/tmp/c\$i 2>&1 & p=\"\$p \$!\"; done
			sleep 1; touch /tmp/go
			r=0; for q in \$p; do wait \$q || r=1; done; wait
			echo @@connects \$r \$(cat /tmp/c* | grep -c '^verified 10')
			echo @@us \$(sed -n 's/^connect_us //p' /tmp/c* | sort -n | tr '\\n' ' ')
			cat /tmp/c* | grep -v '^connected\|^verified\|^connect_us'" >"$T/bb.out" 2>&1
		until_gone $sb 100
		kill $sb 2>/dev/null
		wait $sb
		rb=$?
		sed -n 's/^@@us /# lab: those connects took (us): /p' "$T/bb.out"
		grep -q '^@@held [0-9]* refused [1-9]' "$T/bb.out" && grep -q '^@@connects 0 12$' "$T/bb.out" && [ $rb = 0 ] ||
			{ show "$T/bb.out"; show "$T/bsb.out"; }
		sed -n 's/^@@held \([0-9]*\) refused \([0-9]*\)/# lab: a PV domU: \1 transactions held at once, \2 refused (ENOSPC)/p' "$T/bb.out"
		check "brokered (real xenstored): a PV domU's open transactions are limited (ENOSPC past the quota)" grep -q '^@@held [0-9]* refused [1-9]' "$T/bb.out"
		check "brokered: 12 connects of one PV domU started while its transactions are all taken: all 12 echo (listener status $rb)" \
			sh -c "grep -q '^@@connects 0 12\$' $T/bb.out && [ $rb = 0 ]"
		# domU <-> domU by name alone. (The smoke run leaves it out: its
		# liveness check connects a domU to a domU by (domain, name).)
		if [ "${IVC_XEN_SMOKE:-0}" = 1 ]; then
			note "brokered: PV domU <-> PV domU by name alone: not run (IVC_XEN_SMOKE=1)"
		elif dom_a=$(lab-domu --start -f "$BP" bk-server "$BP serve pair -n 1" 2>"$T/start.err"); then
			lab-domu -f "$BP" bk-peer "sleep 1; $BP connect any pair -c 200" >"$T/bp.out" 2>&1
			rc=$?
			lab-domu --wait -t 60 bk-server >"$T/bsa.out" 2>&1
			ra=$?
			[ "$rc$ra" = 00 ] || { show "$T/bp.out"; show "$T/bsa.out"; }
			check "brokered: PV domU <-> PV domU by name (listener dom$dom_a), echoes checked" [ "$rc$ra" = 00 ]
		else
			show "$T/start.err"
			bad "brokered: domU did not start"
		fi
		# Isolation under the real xenstored, probed by a guest with the
		# real tools while a channel of two other domains is open.
		if dom_h=$(lab-domu --start -f "$BP" bk-holder "$BP connect 0 echo -c 10 -H" 2>"$T/start.err"); then
			i=0
			until [ -n "$(xenstore-list /rendezvous/$dom_h/chan 2>/dev/null)" ] || [ $i -gt 300 ]; do
				i=$((i + 1))
				usleep 100000
			done
			x=$(xenstore-list /rendezvous/$dom_h/chan | head -1)
			if [ -x "$IVC" ]; then
				"$IVC" ls --json >"$T/lsb.json" 2>&1
				live echo 0 "$dom_h" "$T/lsb.json" true || show "$T/lsb.json"
				check "ivc ls: a brokered channel (dom0 <- PV domU) listed open, its figures read" live echo 0 "$dom_h" "$T/lsb.json" true
			fi
			pcmd='n=0
no() { if "$@" >/dev/null 2>&1; then echo "@@allowed $*"; n=$((n + 1)); fi; }
me=$(xenstore-read domid)
no xenstore-ls /rendezvous; no xenstore-list /rendezvous/0; no xenstore-list /rendezvous/'"$dom_h"'
no xenstore-read /rendezvous/'"$dom_h/chan/$x"'; no xenstore-write /rendezvous/'"$dom_h/chan/$x"'/state closed
no xenstore-write /rendezvous/0/req/zz x; no xenstore-rm /rendezvous/'"$dom_h"'; no xenstore-rm /rendezvous/0/req
no xenstore-chmod /rendezvous/$me b$me; no xenstore-write /rendezvous/$me/ans/x y; no xenstore-rm /rendezvous/$me/chan
no xenstore-write /rendezvous/protocol 2; no xenstore-rm /rendezvous/daemon
xenstore-list /rendezvous/$me >/dev/null || { echo "@@cannot list own area"; n=$((n + 1)); }
echo "@@probe $n"'
			lab-domu bk-probe "$pcmd" >"$T/probe.out" 2>&1
			grep '^@@allowed\|^@@cannot' "$T/probe.out" | sed 's/^/# /'
			check "brokered isolation (real xenstored): a guest can list, read, change or delete nothing of others' nor its own answers" grep -q '^@@probe 0$' "$T/probe.out"
			# xl destroy of a client with an open channel.
			xl destroy bk-holder
			i=0
			while xenstore-exists /rendezvous/$dom_h 2>/dev/null && [ $i -lt 50 ]; do
				i=$((i + 1))
				usleep 100000
			done
			check "brokered: xl destroy of a client: its area goes (after $((i * 100)) ms)" sh -c "! xenstore-exists /rendezvous/$dom_h"
		else
			show "$T/start.err"
			bad "brokered: isolation domUs did not start"
		fi
		# The daemon SIGKILLed and restarted with traffic flowing.
		if dom_t=$(lab-domu --start -f "$BP" bk-traffic "$BP connect 0 echo -c 0 -S 20000" 2>"$T/start.err"); then
			i=0
			until lab-domu --output bk-traffic | grep -q '^connected' || [ $i -gt 600 ]; do
				i=$((i + 1))
				usleep 100000
			done
			kill -9 $rdv
			wait $rdv 2>/dev/null
			sleep 2
			rdv_up || bad "brokered: the daemon did not restart"
			lab-domu --wait -t 120 bk-traffic >"$T/bt.out" 2>&1
			rt=$?
			[ $rt = 0 ] || show "$T/bt.out"
			check "brokered: daemon SIGKILLed and restarted while a domU's channel carried traffic: every echo checked" [ $rt = 0 ]
		else
			show "$T/start.err"
			bad "brokered: traffic domU did not start"
		fi
		# Liveness at scale, domU to domU (issue 10: a domU with 500
		# brokered channels learns of its peer domain's destruction
		# within 100 ms of the toolstack releasing it): a listener domU
		# serving $NL channels of a client domU that is destroyed. Timed
		# from the daemon's receipt of @releaseDomain (dom0's wall clock,
		# in its log) to the listener's last reset (the domU's wall
		# clock, corrected by the offset between the two clocks, which
		# the listener measures before and after: each time the exchange
		# with dom0 of the shortest round trip, out of 50, over a
		# channel, whose error is at most half that round trip; seen
		# 100 ms apart, so it must be measured). Also shown: the first
		# reset (the rest is the listener's own work on 500 channels), from `xl destroy` (seen by dom0
		# polling the console every 100 ms; it includes the destruction
		# itself) and the daemon's own part. The listener closes its ends
		# only once all have reset (-D): each close is a XenStore write.
		NL=${IVC_XEN_LIVENESS:-500}
		"$BP" serve clk -C -n 2 >"$T/clk.out" 2>&1 &
		clk=$!
		if dom_l=$(lab-domu -m 256 --start -f "$BP" bk-live-l "$BP connect 0 clk -C -c 50 && $BP serve live -n $NL -r 4096 -D && $BP connect 0 clk -C -c 50" 2>"$T/start.err") &&
			i=0 && until lab-domu --output bk-live-l | grep -q '^serving live' || [ $i -gt 600 ]; do i=$((i + 1)); usleep 100000; done &&
			dom_c=$(lab-domu --start -f "$BP" bk-live-c "$BP connect $dom_l live -k $NL -c 1 -H" 2>>"$T/start.err"); then
			i=0
			until lab-domu --output bk-live-c | grep -q '^verified' || [ $i -gt 3000 ]; do
				i=$((i + 1))
				usleep 100000
			done
			echo "# lab: $NL brokered channels domU to domU set up in about $((i / 10)) s"
			t0=$(now)
			w0=$("$BP" wall)
			xl destroy bk-live-c
			te=""
			while [ $(($(now) - t0)) -lt 15000 ]; do
				lab-domu --output bk-live-l | grep -q '^ended=' && { te=$(now); break; }
				usleep 100000
			done
			# 60 s: after its 500 closes (4-5 s) the listener asks dom0's
			# clock once more, through a daemon that may still be
			# cleaning up the client's 500 ends (6.8 s after the release
			# once); 10 s was too short on a slow day.
			lab-domu --wait -t 60 bk-live-l >"$T/bll.out" 2>&1
			grep -q "ended=$NL resets=$NL" "$T/bll.out" || show "$T/bll.out"
			gl=$(grep "domain $dom_c gone: " "$T/rdvd.log" | tail -n 1)
			told=$(echo "$gl" | sed -n 's/.*\(told in [0-9]* ms\).*/\1/p')
			rel=$(echo "$gl" | sed -n 's/.*@releaseDomain seen at \([0-9]*\),.*/\1/p')
			lr=$(sed -n 's/.*last_reset_wall_ms=\([0-9]*\).*/\1/p' "$T/bll.out" | tail -n 1)
			fw=$(sed -n 's/.*first_reset_wall_ms=\([0-9]*\).*/\1/p' "$T/bll.out" | tail -n 1)
			off1=$(sed -n 's/^clock_offset_us=\(-*[0-9]*\) .*/\1/p' "$T/bll.out" | sed -n 1p)
			off2=$(sed -n 's/^clock_offset_us=\(-*[0-9]*\) .*/\1/p' "$T/bll.out" | sed -n 2p)
			ortt=$(sed -n 's/.* rtt_us=\([0-9]*\)$/\1/p' "$T/bll.out" | sort -n | tail -n 1)
			off=$(((${off1:-0} + ${off2:-${off1:-0}}) / 2))
			fr=$((${lr:-0} - ${rel:-0} - off / 1000))
			ff=$((${fw:-0} - ${rel:-0} - off / 1000))
			fd=$((${fw:-0} - w0 - off / 1000))
			echo "# lab: the listener domU's wall clock is ${off1:-?} us ahead of dom0's before, ${off2:-?} us after (round trip up to ${ortt:-?} us); corrected by $off us"
			echo "# lab: after @releaseDomain: the first of $NL resets at $ff ms, the last at $fr ms; the daemon: $(echo "$gl" | sed -n 's/.*(\([0-9]* ms after @releaseDomain\)).*/\1/p')"
			echo "# lab: the first reset $fd ms after xl destroy began; @releaseDomain $((${rel:-0} - w0)) ms after"
			echo "# lab: from xl destroy to dom0 seeing the listener's report: $((${te:-$t0} - t0)) ms; the daemon: ${told:-no figure}; then the listener closed all $NL in $(sed -n 's/.*close_ms=\([0-9]*\).*/\1/p' "$T/bll.out") ms"
			# Issue 10: within 100 ms of the release. Seen on 2026-12-02:
			# the daemon's notice 19-33 ms after it (it knows the
			# survivors' domains without listing anything), the first
			# reset 25-28 ms, the last 29-32 ms. (Before: 79 and 242 ms,
			# the listing of 500 ends, and, in the listener, a clock read
			# in every ivc_recv: a system call of 40 us in this PV domU.)
			# A reset may come before the release, which Xen makes only
			# at the end of the destruction (seen in CI, 2026-12-03: xl
			# destroy took about 5 s, the resets came 3743 to 21 ms
			# before @releaseDomain; how the listener learned that early
			# is not known). It may not come before xl destroy began
			# (less the clock comparison's error): that would be a false
			# reset.
			lo=$((-${ortt:-0} / 1000 - 2))
			check "brokered liveness: a domU listener learns that the client domU is gone $ff ms after the daemon saw @releaseDomain (first reset; target 100 ms), $fd ms after xl destroy began" \
				sh -c "[ -n '$fw' ] && [ -n '$rel' ] && [ -n '$off1' ] && [ -n '$off2' ] && [ $fd -ge $lo ] && [ $ff -le 100 ]"
			check "brokered liveness: ... and all its $NL channels report the reset by $fr ms (target 100 ms)" \
				sh -c "[ -n '$lr' ] && [ $fr -le 100 ] && [ $fr -ge $ff ] && grep -q 'ended=$NL resets=$NL' $T/bll.out"
		else
			show "$T/start.err"
			bad "brokered liveness: domUs did not start"
			xl destroy bk-live-l 2>/dev/null
			xl destroy bk-live-c 2>/dev/null
		fi
		kill $clk 2>/dev/null
		wait $clk 2>/dev/null
		wait $s0
		rs=$?
		[ $rs = 0 ] || show "$T/bs0.out"
		check "brokered: dom0's listener saw all 6 channels end, one reset by xl destroy (status $rs)" \
			sh -c "[ $rs = 0 ] && grep -q 'ended=6 resets=1' $T/bs0.out"
		kill $rdv
		wait $rdv
		check "brokered: an orderly stop removes /rendezvous/daemon" sh -c '! xenstore-exists /rendezvous/daemon'
		check "brokered: nothing left under /rendezvous" bk_clean
		show "$T/rdvd.log"
		# The policy on real Xen (issue 14): a domU may not connect to a
		# service the policy keeps from it, nor offer a name it may not.
		printf 'listen reserved @anyvm - deny\nconnect secret 0 0 allow\nconnect secret @anyvm 0 deny\nlisten * @anyvm - allow\nconnect * @anyvm @anyvm allow\n' >"$T/policy"
		rdv_up --policy "$T/policy" || bad "brokered policy: the daemon did not start"
		"$BP" serve secret -A >"$T/bsec.out" 2>&1 &
		sp=$!
		lab-domu -f "$BP" bk-deny "sleep 1; $BP connect 0 secret -e EACCES && $BP serve reserved -e EACCES && echo @@denied" >"$T/bd.out" 2>&1
		grep -q '^@@denied' "$T/bd.out" || show "$T/bd.out"
		check "brokered policy (real Xen): a PV domU's connect to a denied service and its listen on a reserved name: EACCES" grep -q '^@@denied' "$T/bd.out"
		kill $sp 2>/dev/null
		wait $sp 2>/dev/null
		# A dead listener's service goes within a second of its
		# liveness port closing (spec 9.11.2 item 5): ENOENT, and
		# nothing of it is left.
		sleep 1.5
		check "brokered: a killed dom0 listener: gone within a second (ENOENT)" \
			"$BP" connect 0 secret -T 5000 -e ENOENT
		kill $rdv
		wait $rdv
		check "brokered policy: nothing left under /rendezvous" bk_clean
	else
		bad "ivc-rendezvousd did not start"
		show "$T/rdvd.log"
	fi
	check "mkrenddir --remove" "$MKR" -q --remove
	check "brokered mode: nothing left in dom0" clean
else
	bad "brokered mode: broker-peer, ivc-rendezvousd or mkrenddir not built"
fi

# ---- 8c. the guest runtime: a PVH unikernel (issue 11) ----------------------
# examples/guest-hello (guest/) boots as a PVH domain in 8 MiB, prints
# through its console ring and exits with code 3: the console says so,
# and Xen sees a crash (any code but 0; poweroff for 0).
section "guest runtime"
GH=$B/examples/guest-hello
# Boots guest $1 (image $2) with cmdline $3 in 8 MiB; its console log.
# tsc_mode native: Xen does not trap the guests' rdtsc. Of the guests'
# triple faults under this emulation (2-3 a run on 2026-12-02), one was at
# the instruction after a trapped rdtsc (guest_now_ns) and one in Xen's
# own code; the next run, with it, had none.
guest_up() {
	cat >"$T/$1.cfg" <<EOF
name = "$1"
type = "pvh"
kernel = "$2"
cmdline = "$3"
tsc_mode = "native"
memory = 8
vcpus = 1
on_crash = "preserve"
on_reboot = "preserve"
on_poweroff = "preserve"
EOF
	rm -f "/var/log/xen/console/guest-$1.log" "$T/$1.id"
	xl create "$T/$1.cfg" >"$T/$1.create" 2>&1 || { show "$T/$1.create"; return 1; }
	xl domid "$1" >"$T/$1.id" 2>/dev/null
}
guest_log() { echo "/var/log/xen/console/guest-$1.log"; }
# Xen's triple-fault lines for the guests named (see 8e), and whether
# there is one.
guest_tf_lines() {
	xl dmesg >"$T/dmesg" 2>/dev/null
	for g in "$@"; do
		grep "d$(cat "$T/$g.id" 2>/dev/null)v[0-9]* Triple fault" "$T/dmesg"
	done
}
guest_tf() { [ -n "$(guest_tf_lines "$@")" ]; }
# Waits (up to $2 tenths of a second) for a line matching $3 in guest
# $1's console.
guest_until() {
	i=0
	until grep -q "$3" "$(guest_log "$1")" 2>/dev/null || [ $i -gt "$2" ]; do
		i=$((i + 1))
		usleep 100000
	done
	grep -q "$3" "$(guest_log "$1")" 2>/dev/null
}
if [ -x "$GH" ]; then
	log=$(guest_log guest-hello)
	t0=$(now)
	if guest_up guest-hello "$GH" ""; then
		guest_until guest-hello 300 '^guest: exit'
		note "guest-hello: its exit line $(($(now) - t0)) ms after xl create began"
		i=0
		until xl list guest-hello 2>/dev/null | awk 'NR == 2 && $5 ~ /c/ { f = 1 } END { exit !f }' || [ $i -gt 100 ]; do
			i=$((i + 1))
			usleep 100000
		done
		st=$(xl list guest-hello 2>/dev/null | awk 'NR == 2 { print $5 }')
		show "$log"
		check "guest: a PVH guest booted and printed through its console ring" \
			grep -q 'hello from a libIVC guest: -42 ok, beef     7|9   |!' "$log"
		check "guest: its exit code on the console" grep -q '^guest: exit 3' "$log"
		check "guest: its XenStore client read its name" grep -q '^guest-hello: I am guest-hello' "$log"
		ms=$(sed -n 's/^guest-hello: slept \([0-9]*\) ms.*/\1/p' "$log")
		check "guest: guest_sleep_ms(200) slept ${ms:-?} ms (at least 200, under 5 s)" \
			[ "${ms:-0}" -ge 200 -a "${ms:-0}" -lt 5000 ]
		gd=$(xl domid guest-hello 2>/dev/null)
		code=$(xenstore-read "/local/domain/$gd/data/exit-code" 2>&1)
		check "guest: dom0 reads its exit code in XenStore: $code" [ "$code" = 3 ]
		check "guest: Xen saw it crash (exit code 3, not 0): state $st" sh -c "echo '$st' | grep -q c"
		xl destroy guest-hello 2>/dev/null
		# A CPU exception is reported, not a silent triple fault.
		tlog=$(guest_log guest-trap)
		guest_up guest-trap "$GH" "trap" && guest_until guest-trap 300 '^guest: exit'
		show "$tlog"
		check "guest: an invalid instruction is reported on the console, exit code 126" \
			sh -c "grep -q '^guest: exception 6 (invalid opcode) at rip' '$tlog' && grep -q '^guest: exit 126' '$tlog'"
		xl destroy guest-trap 2>/dev/null
	else
		bad "guest: xl create failed"
	fi
	check "guest runtime: nothing left in dom0" clean
fi

# ---- 8d. guests on libIVC: the echo programs as unikernels ------------------
# examples/echo-client and echo-server built as PVH guests (guest-ping,
# guest-echo) from the same sources as the Linux programs: a guest
# connects to a dom0 service, and dom0 connects to a guest's service,
# messages of random sizes checked byte for byte, both in direct mode.
if full_section "guests on libIVC"; then
ES=$B/examples/echo-server
EC=$B/examples/echo-client
if [ -x "$B/examples/guest-ping" ] && [ -x "$ES" ]; then
	# A run in which the guest triple-faulted (the emulation's flake of
	# section 3 and 8e) is shown and repeated, at most twice.
	gping_run() {
		IVC_RENDEZVOUS=direct "$ES" --name gecho --clients 1 >"$T/es.out" 2>&1 &
		es=$!
		t0=$(now)
		guest_up gping "$B/examples/guest-ping" "0 --name gecho --count 300 --max 4096 --timeout 30000" ||
			return 1
		guest_until gping 600 '^guest: exit'
		note "guest-ping: done $(($(now) - t0)) ms after xl create began"
		until_gone $es 100
	}
	gping_run
	gup=$?
	for _try in 1 2; do
		[ $gup = 0 ] && guest_tf gping || break
		note "guest-ping triple-faulted under emulation; the run is repeated:"
		guest_tf_lines gping | sed 's/^/#   /'
		xl destroy gping 2>/dev/null
		kill $es 2>/dev/null
		wait $es 2>/dev/null
		gping_run
		gup=$?
	done
	if [ $gup = 0 ]; then
		show "$(guest_log gping)"
		check "guest -> dom0: guest-ping's 300 messages echoed intact by dom0's echo-server" \
			grep -q 'echo-client: dom[0-9]* <-> dom0 on guest: 300 messages, 0 bad' "$(guest_log gping)"
		check "guest -> dom0: guest-ping exited 0" grep -q '^guest: exit 0' "$(guest_log gping)"
		show "$T/es.out"
		check "guest -> dom0: echo-server saw the guest close after 300 messages" \
			grep -q 'client dom[0-9]* closed after 300 messages' "$T/es.out"
		xl destroy gping 2>/dev/null
	else
		bad "guest -> dom0: xl create guest-ping failed"
	fi
	kill $es 2>/dev/null
	wait $es 2>/dev/null

	if guest_up gecho "$B/examples/guest-echo" "--name gsrv --clients 1"; then
		gd=$(xl domid gecho)
		if guest_until gecho 300 'serving "gsrv"'; then
			IVC_RENDEZVOUS=direct "$EC" "$gd" --name gsrv --count 300 --max 4096 --timeout 30000 >"$T/ec.out" 2>&1
			echo "@@rc $?" >>"$T/ec.out"
		fi
		guest_until gecho 300 '^guest: exit'
		show "$(guest_log gecho)"
		show "$T/ec.out" 2>/dev/null
		check "dom0 -> guest: echo-client's 300 messages echoed intact by guest-echo" \
			grep -q "echo-client: dom0 <-> dom$gd on xen: 300 messages, 0 bad" "$T/ec.out"
		check "dom0 -> guest: guest-echo saw dom0 close, and exited 0" \
			sh -c "grep -q 'client dom0 closed after 300 messages' '$(guest_log gecho)' && grep -q '^guest: exit 0' '$(guest_log gecho)'"
		xl destroy gecho 2>/dev/null
	else
		bad "dom0 -> guest: xl create guest-echo failed"
	fi
	# Guest <-> guest, direct mode: guest-ping finds guest-echo by its
	# domain id.
	if guest_up gsrv2 "$B/examples/guest-echo" "--name gg --clients 1" &&
		guest_until gsrv2 300 'serving "gg"'; then
		gd=$(xl domid gsrv2 2>/dev/null)
		guest_up gcli2 "$B/examples/guest-ping" "$gd --name gg --count 300 --max 4096 --timeout 30000" &&
			guest_until gcli2 900 '^guest: exit'
		guest_until gsrv2 300 '^guest: exit'
		show "$(guest_log gcli2)"
		check "guest -> guest (direct): 300 messages echoed intact, both exit 0" \
			sh -c "grep -q 'on guest: 300 messages, 0 bad' '$(guest_log gcli2)' && grep -q '^guest: exit 0' '$(guest_log gcli2)' && grep -q '^guest: exit 0' '$(guest_log gsrv2)'"
	else
		bad "guest -> guest (direct): guest-echo did not start"
	fi
	xl destroy gsrv2 2>/dev/null
	xl destroy gcli2 2>/dev/null

	# The rest of the API on a guest (tests/guest/api-both.c, the same
	# source as dom0's api-both): a stream 1 MiB each way at once and end
	# of stream, zero copy echoed in place, a timeout; the guest serving,
	# then the guest connecting.
	AB=$B/tests/guest/api-both
	if [ -x "$B/tests/guest/guest-api" ] && [ -x "$AB" ]; then
		guest_up gapi "$B/tests/guest/guest-api" "serve gboth" &&
			guest_until gapi 300 'serving gboth-stream'
		gd=$(xl domid gapi 2>/dev/null)
		IVC_RENDEZVOUS=direct "$AB" connect "$gd" gboth >"$T/ab1.out" 2>&1
		echo "@@rc $?" >>"$T/ab1.out"
		guest_until gapi 600 '^guest: exit'
		show "$T/ab1.out"
		show "$(guest_log gapi)"
		check "api on a guest (server): stream, end of stream, zero copy, a timeout, checked on both sides" \
			sh -c "grep -q '^@@rc 0' '$T/ab1.out' && grep -q '^api-both: all ok' '$(guest_log gapi)' && grep -q '^guest: exit 0' '$(guest_log gapi)'"
		xl destroy gapi 2>/dev/null
		IVC_RENDEZVOUS=direct "$AB" serve gboth2 >"$T/ab2.out" 2>&1 &
		ab=$!
		guest_up gapi2 "$B/tests/guest/guest-api" "connect 0 gboth2" &&
			guest_until gapi2 900 '^guest: exit'
		wait $ab
		echo "@@rc $?" >>"$T/ab2.out"
		show "$(guest_log gapi2)"
		check "api on a guest (client): the same, the guest connecting" \
			sh -c "grep -q '^@@rc 0' '$T/ab2.out' && grep -q 'timeout: recv on a quiet channel gave ETIMEDOUT' '$(guest_log gapi2)' && grep -q '^guest: exit 0' '$(guest_log gapi2)'"
		xl destroy gapi2 2>/dev/null
	fi

	# A hostile listener in dom0 (direct mode, the real xenstore tools),
	# as test-api.sh's hostile group does to a sim domain, with a guest
	# as the victim: bent numbers in advertisements and offers. Each
	# connect must fail cleanly with EPROTO before anything is mapped
	# (the baseline, well formed but never answered: ETIMEDOUT), and the
	# guest must neither fault nor hang.
	VIC=$B/tests/guest/guest-victim
	if [ -x "$VIC" ]; then
		fake_adv() { # service, key=value...
			fb=/local/domain/0/data/ivc/$1
			shift
			xenstore-write "$fb" "" && xenstore-chmod "$fb" r0
			for kv in type=test.hostile version=1 mode=message direction=inout ring0-bytes=8192 \
				ring1-bytes=8192 ring0-max-msg=4000 ring1-max-msg=4000 "$@"; do
				xenstore-write -- "$fb/${kv%%=*}" "${kv#*=}"
			done
			xenstore-write "$fb/requests" "" && xenstore-chmod "$fb/requests" w0
			xenstore-write "$fb/conn" "" && xenstore-chmod "$fb/conn" n0
			xenstore-write "$fb/protocol" 1
		}
		names="hok"
		fake_adv hok
		i=0
		for kv in ring0-bytes=4294971392 "ring0-bytes= 8192" ring0-bytes=08192 ring0-bytes=8192x \
			version=4294967297 ring0-bytes=12288 ring0-max-msg=8190 direction=in; do
			i=$((i + 1))
			fake_adv "hadv$i" "$kv"
			echo "hadv$i $kv" >>"$T/hostile.cases"
			names="$names hadv$i"
		done
		i=0
		for rp in "4294967304 5" "-1 5" "8 4294967301" "8 0" "8 +5"; do
			i=$((i + 1))
			fake_adv "hoff$i"
			echo "hoff$i $rp" >>"$T/hostile.cases"
			names="$names hoff$i"
		done
		# The offers: every request to hoffN answered with its bent pair.
		(
			while [ ! -e "$T/hostile.stop" ]; do
				while read -r svc ref port; do
					case $svc in hoff*) ;; *) continue ;; esac
					fb=/local/domain/0/data/ivc/$svc
					for id in $(xenstore-list "$fb/requests" 2>/dev/null); do
						xenstore-rm "$fb/requests/$id"
						xenstore-write -- "$fb/conn/$id/ring-ref" "$ref" "$fb/conn/$id/event-channel" "$port"
						xenstore-chmod -r "$fb/conn/$id" n0 "r${id%%-*}"
					done
				done <"$T/hostile.cases"
				usleep 50000
			done
		) &
		hl=$!
		guest_up gvictim "$VIC" "0 3000 $names" && guest_until gvictim 900 '^guest: exit'
		touch "$T/hostile.stop"
		wait $hl
		show "$(guest_log gvictim)"
		check "hostile: a well-formed advertisement nobody answers: ETIMEDOUT (110)" \
			grep -q '^victim hok: 110$' "$(guest_log gvictim)"
		while read -r svc what; do
			check "hostile: the guest refuses $svc ($what) with EPROTO (71)" \
				grep -q "^victim $svc: 71\$" "$(guest_log gvictim)"
		done <"$T/hostile.cases"
		check "hostile: the guest came through every case and exited 0, no exception" \
			sh -c "grep -q '^guest: exit 0' '$(guest_log gvictim)' && ! grep -q exception '$(guest_log gvictim)'"
		xl destroy gvictim 2>/dev/null
		for svc in $names; do xenstore-rm "/local/domain/0/data/ivc/$svc"; done
	fi

	# The ring itself turned hostile (tests/guest/ring-hostile, dom0): a
	# bent prod, an oversized message header, a bent cons, each after a
	# first good message; the guest answers each with EPROTO and lives.
	RH=$B/tests/guest/ring-hostile
	if [ -x "$VIC" ] && [ -x "$RH" ]; then
		(
			for a in none prod len cons; do
				IVC_RENDEZVOUS=direct "$RH" "hr-$a" "$a" || echo "ring-hostile $a failed: $?"
			done
		) >"$T/rh.out" 2>&1 &
		rh=$!
		guest_up gring "$VIC" "ring 0 hr-none hr-prod hr-len hr-cons" &&
			guest_until gring 1200 '^guest: exit'
		wait $rh
		show "$T/rh.out"
		show "$(guest_log gring)"
		check "hostile ring: a well-behaved listener's second message reaches the guest" \
			grep -q '^victim hr-none: 0$' "$(guest_log gring)"
		for a in prod len cons; do
			check "hostile ring ($a): the guest answers EPROTO (71)" \
				grep -q "^victim hr-$a: 71\$" "$(guest_log gring)"
		done
		check "hostile ring: the guest lived through it (exit 0, no exception) and dom0 saw it go each time" \
			sh -c "grep -q '^guest: exit 0' '$(guest_log gring)' && ! grep -q exception '$(guest_log gring)' && [ \$(grep -c 'the client went' '$T/rh.out') = 4 ]"
		xl destroy gring 2>/dev/null
	fi

	# Figures (issue 11), same run, same dom0 service: from xl create (or
	# lab-domu, which packs the domU's overlay first) to one message
	# exchanged and the channel closed, a guest next to a Linux PV domU.
	GE=$B/examples/guest-echo.stripped
	"$ES" --name gfirst --clients 2 >"$T/gf.out" 2>&1 &
	gf=$!
	firsts() { grep -c 'closed after 1 messages' "$T/gf.out"; }
	t0=$(now)
	guest_up gfirst "$B/examples/guest-ping" "0 --name gfirst --count 1 --timeout 30000"
	i=0
	until [ "$(firsts)" -ge 1 ] || [ $i -gt 3000 ]; do i=$((i + 1)); usleep 10000; done
	tg=$(($(now) - t0))
	t0=$(now)
	lab-domu --start -f "$EC" pvfirst "$EC 0 --name gfirst --count 1 --timeout 30000" >/dev/null 2>&1
	i=0
	until [ "$(firsts)" -ge 2 ] || [ $i -gt 6000 ]; do i=$((i + 1)); usleep 10000; done
	tl=$(($(now) - t0))
	wait $gf
	check "figures: a guest and a Linux PV domU each exchanged a message with dom0" [ "$(firsts)" = 2 ]
	note "figures: create to first message: guest $tg ms, Linux PV domU $tl ms ($(awk -v a="$tl" -v b="$tg" 'BEGIN { if (b > 0) printf "the guest %.1fx faster", a / b }'))"
	xl destroy gfirst 2>/dev/null
	lab-domu --wait -t 30 pvfirst >/dev/null 2>&1
	if [ -f "$GE" ]; then
		sz=$(wc -c <"$GE")
		note "figures: guest-echo stripped: $sz bytes ($((sz / 1024)) KiB), booted in memory = 8 above"
		guest_up gstrip "$GE" "--name gstrip --clients 1" && guest_until gstrip 300 'serving "gstrip"'
		check "figures: the stripped guest-echo ($((sz / 1024)) KiB) boots and serves" [ $? = 0 ]
		xl destroy gstrip 2>/dev/null
	fi
	check "guests on libIVC: nothing left in dom0" clean
else
	note "guests on libIVC: skipped (no guest runtime in this build: not x86-64, or sanitizers)"
fi
fi # "guests on libIVC" (IVC_XEN_SMOKE skips it)

# ---- 8e. guests by name: the daemon, a pipeline, many clients, deaths -------
# With ivc-rendezvousd in dom0 the same guest images work in brokered
# mode: ten guest-stages connect to each other by name and carry an
# echo-client's messages through all ten to dom0's echo-server and back
# (every stage must report the same checksums); one guest-echo serves 50
# channels of a dom0 process and 2 guest-pings at once; and an xl destroy
# of either side of a channel is seen by the other, guest or dom0. At the
# end nothing is left in dom0 nor under /rendezvous.
if full_section "guests by name"; then
EM=$B/examples/echo-many
# (8b's daemon, mkrenddir, rdv_up and bk_clean.)
if [ -x "$B/examples/guest-stage" ] && [ -x "$RDV" ] && [ -x "$MKR" ]; then
	"$MKR" -q
	rdv_up || bad "guests by name: the daemon did not start"
	# -- ten stages. A PVH domain now and then triple-faults under this
	# emulation (README.md, "traps of the lab": reproduced by a guest that
	# only polls; ten guests switching per message make it likely): a run
	# in which Xen logged a stage's triple fault is shown and repeated, at
	# most three times. (A triple fault is a reboot to Xen: on_reboot =
	# "preserve" keeps xl from restarting the stage.)
	stages="gst0 gst1 gst2 gst3 gst4 gst5 gst6 gst7 gst8 gst9"
	stages_with() { # how many stages' consoles have a line matching $1
		k=0
		for g in $stages; do
			grep -q "$1" "$(guest_log "$g")" 2>/dev/null && k=$((k + 1))
		done
		echo $k
	}
	# Waits (up to $2 tenths of a second) until every stage's console has
	# a line matching $1; gives up at once when a stage triple-faulted.
	stages_until() {
		i=0
		until [ "$(stages_with "$1")" = 10 ]; do
			[ $i -gt "$2" ] && return 1
			[ $((i % 20)) = 19 ] && guest_tf $stages && return 1
			i=$((i + 1))
			usleep 100000
		done
	}
	pipeline_run() {
		"$ES" --name gsink --clients 1 >"$T/gsink.out" 2>&1 &
		sk=$!
		n=0
		while [ $n -lt 10 ]; do
			out=gs$((n + 1))
			[ $n = 9 ] && out=gsink
			guest_up "gst$n" "$B/examples/guest-stage" "--in gs$n --out $out --timeout 120000" ||
				break
			n=$((n + 1))
		done
		: >"$T/gpipe.out"
		# A stage that triple-faulted never answers nor goes (its domain
		# is preserved): the run ends at once and is repeated.
		stages_until 'echo-stage: dom' 900
		ready=$(stages_with 'echo-stage: dom')
		if [ "$ready" = 10 ]; then
			"$EC" any --name gs0 --count 100 --max 4096 --timeout 30000 >"$T/gpipe.out" 2>&1
			echo "@@rc $?" >>"$T/gpipe.out"
			stages_until '^guest: exit' 600
		fi
		n=0
		exited=0
		: >"$T/gpipe.bad"
		while [ $n -lt 10 ]; do
			if grep -q '^guest: exit 0' "$(guest_log "gst$n")"; then
				exited=$((exited + 1))
			else
				id=$(xl domid "gst$n" 2>/dev/null)
				{
					echo "gst$n (domid $id, state $(xl list "gst$n" 2>/dev/null | awk 'NR == 2 { print $5 }')):"
					cat "$(guest_log "gst$n")"
				} >>"$T/gpipe.bad"
			fi
			n=$((n + 1))
		done
		same=$(cat /var/log/xen/console/guest-gst[0-9].log | grep -o '100 messages, [0-9]* bytes, fnv [0-9a-f]*; back: 100 messages, [0-9]* bytes, fnv [0-9a-f]*' | sort | uniq -c | awk '{ print $1 }')
		cp "$(guest_log gst0)" "$T/gst0.log"
		guest_tf_lines $stages >"$T/gpipe.tf"
		kill $sk 2>/dev/null
		wait $sk 2>/dev/null
		n=0
		while [ $n -lt 10 ]; do
			xl destroy "gst$n" 2>/dev/null
			n=$((n + 1))
		done
	}
	pipeline_run
	for _try in 1 2 3; do
		[ -s "$T/gpipe.tf" ] || break
		note "pipeline: a stage triple-faulted under emulation; the run is repeated:"
		show "$T/gpipe.tf"
		show "$T/gpipe.bad"
		pipeline_run
	done
	check "pipeline: ten guest-stages up, each connected to the next by name: $ready" [ $ready = 10 ]
	show "$T/gpipe.out"
	check "pipeline: 100 messages through ten guests to dom0's echo-server and back, every byte checked" \
		grep -q 'on xen: 100 messages, 0 bad' "$T/gpipe.out"
	show "$T/gst0.log"
	show "$T/gpipe.bad"
	show "$T/gpipe.tf"
	check "pipeline: every stage passed the same 100 messages each way (counts, bytes, checksums): $same" [ "$same" = 10 ]
	check "pipeline: every stage exited 0 once the one before closed: $exited" [ $exited = 10 ]

	# -- many clients of one guest
	if guest_up gmany "$B/examples/guest-echo" "--name gmany --clients 52 --ring 16384" &&
		guest_until gmany 300 'serving "gmany"'; then
		gd=$(xl domid gmany)
		guest_up gp1 "$B/examples/guest-ping" "any --name gmany --count 300 --max 2048 --timeout 30000"
		guest_up gp2 "$B/examples/guest-ping" "$gd --name gmany --count 300 --max 2048 --timeout 30000"
		# (bounded: a guest that dies without its domain going, as in a
		# triple fault, never answers)
		timeout 150 "$EM" "$gd" --name gmany --channels 50 --rounds 20 --timeout 30000 >"$T/gem.out" 2>&1
		echo "@@rc $?" >>"$T/gem.out"
		guest_until gp1 600 '^guest: exit'
		guest_until gp2 600 '^guest: exit'
		guest_until gmany 600 '^guest: exit'
		show "$T/gem.out"
		check "many: dom0's 50 channels to one guest, 20 rounds, every echo checked" \
			grep -q '^echo-many: 50 channels x 20 rounds: every echo checked' "$T/gem.out"
		check "many: two guest clients at once (by name alone and by domain), 300 messages each, intact" \
			sh -c "grep -q 'on guest: 300 messages, 0 bad' '$(guest_log gp1)' && grep -q 'on guest: 300 messages, 0 bad' '$(guest_log gp2)'"
		grep -v 'connected\|closed after' "$(guest_log gmany)" | show
		check "many: guest-echo served 52 clients and exited 0" grep -q '^guest: exit 0' "$(guest_log gmany)"
	else
		bad "many: guest-echo did not start"
	fi
	xl destroy gmany 2>/dev/null
	xl destroy gp1 2>/dev/null
	xl destroy gp2 2>/dev/null

	# -- deaths: a guest's peer destroyed (a guest), and dom0's (a guest).
	# Each is repeated (at most twice) when a guest of it triple-faulted,
	# as the pipeline is.
	again() { # guests of the scenario just run
		guest_tf "$@" || return 1
		note "a guest of $* triple-faulted under emulation; the scenario is repeated"
	}
	death_gg() {
		: >"$T/gsur.why"
		if guest_up gvic "$B/examples/guest-echo" "--name gvic --clients 1" &&
			guest_until gvic 300 'serving "gvic"'; then
			guest_up gsur "$B/examples/guest-ping" "any --name gvic --count 200000 --max 64 --timeout 30000"
			guest_until gvic 300 'client dom[0-9]* connected'
			sleep 1
			t0=$(now)
			xl destroy gvic
			guest_until gsur 300 '^guest: exit'
			echo "the survivor's exit line $(($(now) - t0)) ms after xl destroy of its peer" >"$T/gsur.why"
		else
			echo "guest-echo did not start" >"$T/gsur.why"
		fi
		xl destroy gvic 2>/dev/null
		xl destroy gsur 2>/dev/null
	}
	for _try in 1 2 3; do
		death_gg
		again gvic gsur || break
	done
	note "guest <-> guest: $(cat "$T/gsur.why")"
	show "$(guest_log gsur)"
	check "death: a guest's peer guest destroyed mid-traffic: it reports the reset and exits 1" \
		sh -c "grep -q 'Connection reset by peer' '$(guest_log gsur)' && grep -q '^guest: exit 1' '$(guest_log gsur)'"

	death_dg() {
		: >"$T/gdead.out"
		if guest_up gvic2 "$B/examples/guest-echo" "--name gvic2 --clients 1" &&
			guest_until gvic2 300 'serving "gvic2"'; then
			"$EC" any --name gvic2 --count 200000 --max 64 --timeout 30000 >"$T/gdead.out" 2>&1 &
			ec=$!
			guest_until gvic2 300 'client dom0 connected'
			sleep 1
			t0=$(now)
			xl destroy gvic2
			i=0
			while kill -0 $ec 2>/dev/null && [ $i -lt 300 ]; do usleep 10000; i=$((i + 1)); done
			echo "# dom0's client ended $(($(now) - t0)) ms after xl destroy of the guest" >>"$T/gdead.out"
			kill $ec 2>/dev/null
			wait $ec
		else
			echo "# guest-echo did not start" >>"$T/gdead.out"
		fi
		xl destroy gvic2 2>/dev/null
	}
	for _try in 1 2 3; do
		death_dg
		again gvic2 || break
	done
	show "$T/gdead.out"
	check "death: dom0's peer guest destroyed mid-traffic: the dom0 client reports the reset" \
		grep -q 'Connection reset by peer' "$T/gdead.out"

	death_gd() {
		"$ES" --name gsrv3 --clients 1 >"$T/gs3.out" 2>&1 &
		es3=$!
		if guest_up gvic3 "$B/examples/guest-ping" "any --name gsrv3 --count 200000 --max 64 --timeout 30000"; then
			i=0
			until grep -q 'connected' "$T/gs3.out" || [ $i -gt 300 ]; do usleep 100000; i=$((i + 1)); done
			sleep 1
			t0=$(now)
			xl destroy gvic3
			i=0
			until grep -q 'died\|reset' "$T/gs3.out" || [ $i -gt 300 ]; do usleep 10000; i=$((i + 1)); done
			echo "# dom0's service saw the death $(($(now) - t0)) ms after xl destroy of the guest" >>"$T/gs3.out"
		else
			echo "# guest-ping did not start" >>"$T/gs3.out"
		fi
		xl destroy gvic3 2>/dev/null
		kill $es3 2>/dev/null
		wait $es3 2>/dev/null
	}
	for _try in 1 2 3; do
		death_gd
		again gvic3 || break
	done
	show "$T/gs3.out"
	check "death: a guest client destroyed mid-traffic: dom0's echo-server sees it die" \
		grep -q 'client dom[0-9]* died' "$T/gs3.out"

	kill $rdv
	wait $rdv
	check "guests by name: nothing left under /rendezvous" bk_clean
	"$MKR" -q --remove
	check "guests by name: nothing left in dom0" clean
else
	note "guests by name: skipped (no guest runtime, daemon or mkrenddir in this build)"
fi
fi # "guests by name" (IVC_XEN_SMOKE skips it)

# ---- 9. performance, recorded: libIVC and libxenvchan --------------------------
. "$(dirname "$0")/perf-section.sh"

finish
