#!/bin/sh
# The sim platform end to end: a simulated host, domains as processes, grant
# tables, event channels, unmap-notify, SIGKILL of a domain mid-transfer,
# 50 domains at once, and nothing left over (ivc-sim stats, the real
# xenstore tools, the process table).
# usage: test-sim.sh IVC_SIM SIM_PEER
set -u
SIM=$1
PEER=$2
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
command -v xenstore-read >/dev/null || { echo "SKIP: xenstore-utils needed"; exit 77; }
. "$(dirname "$0")/../lib/sim-lib.sh"
xs0() { XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock "$@"; }
run() { # domid, args... (background; pid in $!)
	_d=$1
	shift
	dom "$_d" "$PEER" "$@"
}

check "host starts" sim_start
check "dom0 in XenStore as xen-init-dom0 leaves it" [ "$(xs0 xenstore-read /local/domain/0/name)" = Domain-0 ]

# 1. Pages and events between two domains, read-write.
w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
run 1 grant 2 4 "$w" rw & a=$!
run 2 map 1 "$w" rw & b=$!
wait $a; ra=$?
wait $b; rb=$?
check "rw share: contents, reply and events across domains" [ $ra = 0 -a $rb = 0 ]
check "rw share: nothing left" clean

# 2. Read-only: mapped read-only, a write faults, a third domain is refused.
w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
run 1 grant 2 3 "$w" ro & a=$!
run 2 map 1 "$w" ro & b=$!
run 3 probe 1 "$w" & c=$!
wait $a; ra=$?
wait $b; rb=$?
wait $c; rc=$?
check "ro share: read-only mapping, write faults, writable map refused" [ $ra = 0 -a $rb = 0 ]
check "wrong domain / unknown ref / unknown domain refused" [ $rc = 0 ]
check "ro share: nothing left" clean

# 3. Event channel semantics.
w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
run 0 evt-a 5 "$w" & a=$!
run 5 evt-b 0 "$w" & b=$!
wait $a; ra=$?
wait $b; rb=$?
check "event channels: bind (pending at once), deliver, mask/coalesce, unbound, bound again, closed; status for dom0 only" [ $ra = 0 -a $rb = 0 ]
# The same the slow way: while fault rules are set (these never fire),
# every notify goes through ivc-simd. A kill rule sees b's calls and its
# 4 notifies, an error rule the calls alone (a notify cannot fail).
"$SIM" fault 5 host 1000000 kill >/dev/null
"$SIM" fault 5 host 1000000 ENOMEM >/dev/null
w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
run 0 evt-a 5 "$w" & a=$!
run 5 evt-b 0 "$w" & b=$!
wait $a; ra=$?
wait $b; rb=$?
seen=$("$SIM" fault ls | sed -n 's/.* seen \([0-9]*\) .*/\1/p' | tr '\n' ' ')
"$SIM" fault clear >/dev/null
four_sends() { [ "$#" = 2 ] && [ $(($1 - $2)) = 4 ]; }
check "event channels through ivc-simd (fault rules set): the same" [ $ra = 0 -a $rb = 0 ]
# shellcheck disable=SC2086 # two numbers
check "... and b's 4 notifies went through it (calls seen: $seen)" four_sends $seen

# 4. Death of a domain mid-transfer: dom7 maps the pages of a granter
# (dom6 or dom0) and is killed. Sets ra (granter) and rb (mapper) status.
# usage: mapper_dies GRANTER WATCH-MODE kill|destroy
mapper_dies() {
	w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
	run "$1" grant 7 8 "$w" rw "$2" & a=$!
	run 7 map "$1" "$w" rw die & b=$!
	for i in $(seq 200); do [ -f "$w/mapper.pid" ] && [ -f "$w/mapped-seen" ] && break; sleep 0.05; done
	if [ "$3" = kill ]; then
		kill -9 "$(cat "$w/mapper.pid")"
	else
		check "ivc-sim destroy" "$SIM" destroy 7
	fi
	wait $b; rb=$?
	wait $a; ra=$?
}
dom7_gone() { ! XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock xenstore-exists /local/domain/7; }

# 4a. Its only process SIGKILLed (so the domain ends): the kernel runs its
# unmap-notify.
mapper_dies 6 deathwatch kill
check "killed domain exits by SIGKILL" [ $rb = 137 ]
check "survivor saw unmap-notify (byte cleared, event) and could end access" [ $ra = 0 ]
check "killed domain's XenStore directory removed" dom7_gone
check "after SIGKILL: nothing left" clean

# 4b. The same with dom0 as the survivor: it may ask Xen, and sees its end
# of the event channel revert to unbound and the domain gone.
mapper_dies 0 deathwatch kill
check "dom0 survivor: unmap-notify, port unbound, domain_alive 0" [ $rb = 137 -a $ra = 0 ]
check "dom0 survivor: nothing left" clean

# 4c. The mapper's whole domain destroyed, as `xl destroy` does: no
# unmap-notify (no byte cleared, no event); dom0 sees the port unbound and
# the domain gone, and can end access.
mapper_dies 0 destroywatch destroy
check "destroyed domain: no unmap-notify, port unbound, domain gone, access ends" [ $ra = 0 ]
check "destroyed domain: its process was killed" [ $rb = 137 ]
check "destroyed domain: XenStore area removed" dom7_gone
check "destroyed domain: nothing left" clean
check "ivc-sim destroy of a domain that does not exist fails" sh -c "! '$SIM' destroy 4000 2>/dev/null"

# 4d. After ivc-sim destroy the id is free at once, and the old `run`
# ending later does not take the new domain of that id with it.
"$SIM" run --domid 9 -- sleep 60 & a=$!
for i in $(seq 100); do "$SIM" ls | grep -q '^9 ' && break; sleep 0.05; done
kill -STOP $a
check "destroy dom9 while its run is stopped" "$SIM" destroy 9
"$SIM" run --domid 9 -- sleep 60 & b=$!
for i in $(seq 100); do "$SIM" ls | grep -q '^9 ' && break; sleep 0.05; done
kill -CONT $a
wait $a
sleep 0.2
check "the new dom9 outlives the old run's end" sh -c "'$SIM' ls | grep -q '^9 '"
kill $b
wait $b
check "dom9 reused: nothing left" clean

# 5. 50 domains at once: 25 pairs exchanging pages and events.
pids=""
for i in $(seq 0 24); do
	g=$((10 + 2 * i))
	m=$((11 + 2 * i))
	w=$(mktemp -d "$IVC_SIM_DIR/w.XXXX")
	run $g grant $m 2 "$w" rw & pids="$pids $!"
	run $m map $g "$w" rw & pids="$pids $!"
done
nfail=0
for p in $pids; do wait "$p" || nfail=$((nfail + 1)); done
check "50 domains at once ($nfail failed)" [ $nfail = 0 ]
check "50 domains: nothing left" clean

# 6. A domain as Xen's toolstack makes it, seen with the real tools.
"$SIM" run --domid 9 --name nine -- sleep 60 & a=$!
for i in $(seq 100); do xs0 xenstore-exists /local/domain/9/name 2>/dev/null && break; sleep 0.05; done
check "ivc-sim ls lists it" sh -c "'$SIM' ls | grep -q nine"
check "name in XenStore" [ "$(xs0 xenstore-read /local/domain/9/name)" = nine ]
check "domid in XenStore" [ "$(xs0 xenstore-read /local/domain/9/domid)" = 9 ]
check "the domain reads its own name (relative path)" \
	"$SIM" run --domid 19 -- sh -c "XENSTORED_PATH=$IVC_SIM_DIR/xs/dom9.sock xenstore-read name | grep -qx nine"
check "the domain writes its data/ area" sh -c \
	"XENSTORED_PATH=$IVC_SIM_DIR/xs/dom9.sock xenstore-write data/x 1"
check "the domain cannot write dom0's area" sh -c \
	"! XENSTORED_PATH=$IVC_SIM_DIR/xs/dom9.sock xenstore-write /local/domain/0/x 1 2>/dev/null"
check "the same domid cannot run twice" sh -c "! '$SIM' run --domid 9 -- true 2>/dev/null"
"$SIM" kill 9 # the domain's processes (sleep): a crash in the domain
wait $a
check "killed: gone from ivc-sim ls" sh -c "! '$SIM' ls | grep -q nine"
check "killed: XenStore area removed" sh -c \
	"! XENSTORED_PATH=$IVC_SIM_DIR/xs/dom0.sock xenstore-exists /local/domain/9"
check "all domains gone: nothing left" clean

# 7. Stop ends everything.
"$SIM" run --domid 30 -- sleep 60 & a=$!
sleep 0.3
check "stop" "$SIM" stop
wait $a
# No process of the host in directory $1 (default ours); pgrep is needed,
# or this could not fail.
no_procs() {
	command -v pgrep >/dev/null || { echo "pgrep missing (procps)"; return 1; }
	! pgrep -f "[i]vc-(simd|xenstored) --dir ${1:-$IVC_SIM_DIR}" >/dev/null
}
check "no process of the host survives" no_procs
check "no socket left" sh -c "! ls '$IVC_SIM_DIR'/admin.sock '$IVC_SIM_DIR'/host/*.sock 2>/dev/null | grep -q ."

# 8. ivc-sim kill: a signal to a domain's processes, as a crash inside it.
sim_start >/dev/null
"$SIM" run --domid 40 -- sleep 60 & a=$!
for i in $(seq 100); do "$SIM" ls | grep -q '^40 ' && break; sleep 0.05; done
check "kill -s TERM of a domain's processes" "$SIM" kill -s TERM 40
wait $a; ra=$?
check "the domain's process ended by SIGTERM (status $ra)" [ $ra = 143 ]
check "killed by signal: gone from ivc-sim ls" sh -c "! '$SIM' ls | grep -q '^40 '"
check "kill of a domain that does not exist fails" sh -c "! '$SIM' kill 4000 2>/dev/null"
check "kill with a bad signal is a usage error" sh -c "'$SIM' kill -s NOPE 40 2>/dev/null; [ \$? = 2 ]"
check "kill of dom0 is refused" sh -c "! '$SIM' kill 0 2>/dev/null"
"$SIM" stop >/dev/null

# 9. A host whose owner dies, even by SIGKILL, stops by itself and takes
# its domains with it: a test that dies leaves nothing running.
owned=$(mktemp -d "$IVC_SIM_DIR/owned.XXXX")
sleep 60 & owner=$!
IVC_SIM_DIR=$owned "$SIM" start --owner $owner >/dev/null
simd=$(cat "$owned/simd.pid")
IVC_SIM_DIR=$owned "$SIM" run --domid 3 -- sleep 60 & a=$!
for i in $(seq 100); do IVC_SIM_DIR=$owned "$SIM" ls | grep -q '^3 ' && break; sleep 0.05; done
kill -9 $owner
wait $a; ra=$?
gone() { for _i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; return 1; }
gone_all() { for _i in $(seq 100); do no_procs "$1" && return 0; sleep 0.05; done; return 1; }
check "owner killed: the host stopped by itself" gone "$simd"
check "owner killed: its domain died with it (status $ra)" [ $ra = 137 ]
check "owner killed: no process of the host survives" no_procs "$owned"
check "owner killed: no socket left" sh -c "! ls '$owned'/admin.sock '$owned'/host/*.sock 2>/dev/null | grep -q ."
e=$(IVC_SIM_DIR=$owned "$SIM" start --owner 999999999 2>&1)
rc=$?
check "start with an owner that does not exist fails (status $rc: $e)" \
	sh -c "[ $rc = 2 ] && echo '$e' | grep -q 'no owner process'"

# 10. A host killed outright (SIGKILL: it cleans nothing up) still takes its
# domains with it: `ivc-sim run` sees its life connection end.
killed=$(mktemp -d "$IVC_SIM_DIR/killed.XXXX")
IVC_SIM_DIR=$killed "$SIM" start >/dev/null
simd=$(cat "$killed/simd.pid")
IVC_SIM_DIR=$killed "$SIM" run --domid 4 -- sleep 60 & a=$!
for i in $(seq 100); do IVC_SIM_DIR=$killed "$SIM" ls | grep -q '^4 ' && break; sleep 0.05; done
t0=$(date +%s)
kill -9 "$simd"
wait $a; ra=$?
el=$(($(date +%s) - t0))
check "host SIGKILLed: its domain died with it at once (status $ra, after $el s)" \
	[ "$ra.$((el < 30))" = 137.1 ]
check "host SIGKILLed: no process of the host survives" gone_all "$killed"
rm -rf "$killed"

check "daemons exited without sanitizer reports" no_sanitizer_report

finish
