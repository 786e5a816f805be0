#!/bin/sh
# Fault injection between sim domains (issue 14), in one rendezvous mode.
# The host injects the faults (`ivc-sim fault`): a call of a domain (or of
# one process) fails with an error, or its process is killed before the
# answer. Every step is a XenStore request or a grant or event channel
# call, counted from 1 until a round in which the rule no longer fires.
#
# Groups (one host each):
#   kill-client, kill-listener  SIGKILL at every step of one side, from
#       ivc_open through rendezvous, traffic and teardown. The survivor
#       ends by itself (a client) or keeps serving new clients and gives
#       back what the dead peer cost it (a listener).
#   error-client, error-listener  one call failing at every step (XenStore
#       EIO, host ENOMEM) in a live process: its attempt fails with an
#       error or copes; the failed attempt left nothing in its domain; a
#       second attempt in the same context works.
#   storms  EAGAIN on every commit (for a while, then for good),
#       transaction and watch quotas, the node quota really exhausted,
#       event channels exhausted, grants that cannot be shared or mapped:
#       each a clean error, nothing left, then it works again.
#   kill-daemon (brokered)  ivc-rendezvousd killed at every step of a
#       connect, then restarted: the client ends by itself, the listener
#       stays reachable, nothing is left under /rendezvous.
# Each round ends with the host clean (tests/lib/sim-lib.sh: clean).
#
# usage: test-fault.sh BUILD_DIR direct|brokered GROUP
set -u
BUILD=$1
MODE=$2
GROUP=$3
SIM=$BUILD/sim/ivc-sim
PEER=$BUILD/tests/api/api-peer
EX=$BUILD/examples
RDVD=$BUILD/rendezvous/ivc-rendezvousd
MKRD=$BUILD/mkrenddir/mkrenddir
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
command -v xenstore-write >/dev/null || { echo "SKIP: xenstore-utils needed"; exit 77; }
. "$(dirname "$0")/../lib/sim-lib.sh"
. "$(dirname "$0")/../lib/broker-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
LIMIT=30
# A connect or accept that cannot succeed ends in 3 s (api-peer).
export IVC_TEST_CONNECT_MS=3000
MAXSTEP=${IVC_FAULT_MAX_STEPS:-400}
# Where the walks start (to look at one step again: IVC_FAULT_FIRST_STEP=N).
FIRST=${IVC_FAULT_FIRST_STEP:-1}
export IVC_RENDEZVOUS=$MODE

# DOMID's grants, mappings, event channels, XenStore nodes and watches.
# The directories data/ivc, data/ivc-listener and data/ivc-client are not
# counted: a context makes each once, when first needed, and keeps it.
stats_of() {
	k=0
	for n in ivc ivc-listener ivc-client; do
		xs0 exists "/local/domain/$1/data/$n" 2>/dev/null && k=$((k + 1))
	done
	simc stats | awk -v d="$1" -v k=$k \
		'$1 == d { print $2, $3, $4, $5 - k, $6; f = 1 } END { if (!f) print "gone" }'
}
# Waits (at most 7 s: an unanswered offer lives 5 s) until DOMID holds WANT.
settles() {
	for _k in $(seq 140); do
		[ "$(stats_of "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "# dom$1 holds $(stats_of "$1") (grants maps evtchns nodes watches), had $2"
	return 1
}
fired() { simc fault ls | awk '{ n += $NF } END { print n + 0 }'; }

# Waits (at most 15 s) until FILE holds PATTERN or PID has ended; 0 if it holds it.
wait_line() {
	for _k in $(seq 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null; return; }
		sleep 0.05
	done
	return 1
}

# Nothing under /rendezvous but the daemon's own nodes (brokered mode).
all_clean() { clean && { [ "$MODE" = direct ] || areas_clean; }; }

# The echo service in dom1 (extra arguments: echo-server's); $srv its job.
server_start() {
	# Emptied here, not by the job's redirection, which may come after
	# the caller has read the previous round's file.
	: >"$OUT/srv"
	dom 1 "$EX/echo-server" --name fault "$@" >"$OUT/srv" 2>&1 &
	srv=$!
}
server_stop() {
	simc kill -s TERM 1 >/dev/null 2>&1
	wait "$srv" 2>/dev/null
}
# One echo client in DOMID; its status.
# (the kill-listener walk waits less: most of its clients find no listener)
client() { dom "$1" "$EX/echo-client" 1 --name fault --count 3 --timeout "${client_ms:-3000}" >"$OUT/cl.$1" 2>&1; }
error_of() { grep -h -m1 -i -E "error|refused|reset|no such|timed out|denied|: " "$1" | tr -d '\n'; }

# ---- kill walks ----------------------------------------------------------

# SIGKILL of the client at call N of KIND: it dies, a new client is
# served, the listener gives back all the dead client cost it.
kill_client_round() { # KIND N
	server_start
	wait_line "$OUT/srv" serving $srv || { bad "kill $1 $2: server did not start: $(cat "$OUT/srv")"; return 1; }
	base=$(stats_of 1)
	simc fault 2 "$1" "$2" kill
	client 2
	rc=$?
	f=$(fired)
	simc fault clear >/dev/null
	if [ "$f" = 0 ]; then
		check "kill client at $1 call $2: never reached, the client completed (status $rc)" [ $rc = 0 ]
		walk_done=1
	else
		[ $rc = 137 ] || bad "kill client at $1 call $2: status $rc, not killed: $(cat "$OUT/cl.2")"
		client 3
		r3=$?
		[ $r3 = 0 ] || bad "kill client at $1 call $2: next client failed: $(cat "$OUT/cl.3")"
		settles 1 "$base" || bad "kill client at $1 call $2: the listener kept what the dead client cost"
	fi
	server_stop
	eventually all_clean || bad "kill client at $1 call $2: host not clean"
}

# SIGKILL of the listener at call N of KIND (from its start): the client
# ends by itself, with an error or (killed late) with its echoes.
kill_listener_round() { # KIND N
	simc fault 1 "$1" "$2" kill
	server_start --clients 1
	wait_line "$OUT/srv" serving $srv
	client 2
	rc=$?
	wait $srv
	rs=$?
	f=$(fired)
	simc fault clear >/dev/null
	if [ "$f" = 0 ]; then
		check "kill listener at $1 call $2: never reached, both completed ($rc, $rs)" [ $rc = 0 -a $rs = 0 ]
		walk_done=1
	else
		[ $rs = 137 ] || bad "kill listener at $1 call $2: listener status $rs, not killed"
		case $rc in
		0 | 1) [ -n "$verbose" ] && echo "# listener killed at $1 call $2: client $rc $(error_of "$OUT/cl.2")" ;;
		*) bad "kill listener at $1 call $2: client status $rc: $(cat "$OUT/cl.2")" ;;
		esac
	fi
	eventually all_clean || bad "kill listener at $1 call $2: host not clean"
}

# Calls ROUND ARGS... N for N = 1, 2, ... until a round in which call N
# never came (the round sets walk_done). Then $steps is how many steps
# there were, $walk_failures how many checks failed on the way; the status
# says whether the walk ended and every round held.
walk() {
	walk_done=0
	f0=$fail
	n=$FIRST
	while [ $walk_done = 0 ] && [ $n -le $MAXSTEP ]; do
		"$@" $n
		n=$((n + 1))
	done
	steps=$((n - 2))
	walk_failures=$((fail - f0))
	[ $walk_done = 1 ] && [ $walk_failures = 0 ]
}
kill_walk() { # ROUND KIND
	walk "$1" "$2"
	check "$1 $2: every one of $steps steps ($walk_failures failures)" [ $? = 0 ]
}

# ---- error walks: one attempt under the fault, then one that must work --

# An api-peer `retry` in DOMID ($1: serve | connect): a first attempt under
# RULE (DOMID's calls), a check that it left nothing, a second attempt.
# Sets $fired_now; each failure is reported (bad) as it is found.
retry_round() { # serve|connect RULE...
	side=$1
	shift
	what="$side under '$*'"
	# (not $d: dom() sets it)
	if [ "$side" = serve ]; then vd=1; else vd=2; fi
	: >"$OUT/rt" # (see server_start)
	if [ $side = connect ]; then
		server_start
		wait_line "$OUT/srv" serving $srv || { bad "$what: no server: $(tail -n 3 "$OUT/srv")"; return 1; }
		dom 2 "$PEER" connect 1 retry >"$OUT/rt" 2>&1 &
	else
		dom 1 "$PEER" serve retry >"$OUT/rt" 2>&1 &
	fi
	rt=$!
	wait_line "$OUT/rt" "^open" $rt || { bad "$what: did not open: $(cat "$OUT/rt")"; wait $rt; return 1; }
	base=$(stats_of $vd)
	[ $side = connect ] && base1=$(stats_of 1)
	simc fault "$@" || { bad "$what: bad rule"; return 1; }
	touch "$IVC_SIM_DIR/go.$vd"
	if [ $side = serve ]; then
		# The client meets the first attempt (and fails or not, by itself).
		wait_line "$OUT/rt" "^listening\|^failed" $rt
		grep -q "^failed" "$OUT/rt" || client 2
		r2=$?
		case $r2 in 0 | 1) ;; *) bad "$what: the client during the fault: status $r2: $(cat "$OUT/cl.2")" ;; esac
	fi
	wait_line "$OUT/rt" "^done first\|^failed" $rt
	fired_now=$(fired)
	simc fault clear >/dev/null
	if grep -q "^failed" "$OUT/rt"; then
		[ -n "$verbose" ] && echo "# $what: $(grep -v '^open\|ok$' "$OUT/rt" | head -n 1)"
		settles $vd "$base" || bad "$what: the failed attempt left something behind"
		[ $side = connect ] && { settles 1 "$base1" || bad "$what: the listener kept something"; }
		# (the first attempt may have said "listening" too)
		nl=$(grep -c "^listening" "$OUT/rt")
		touch "$IVC_SIM_DIR/again.$vd"
		if [ $side = serve ]; then
			for _k in $(seq 300); do
				[ "$(grep -c "^listening" "$OUT/rt")" -gt "$nl" ] && break
				kill -0 $rt 2>/dev/null || break
				sleep 0.05
			done
			client 3 || bad "$what: no client served after the failure: $(cat "$OUT/cl.3")"
		fi
	fi
	wait $rt
	r=$?
	[ $r = 0 ] || bad "$what: status $r: $(cat "$OUT/rt")"
	[ $side = connect ] && server_stop
	rm -f "$IVC_SIM_DIR/go.$vd" "$IVC_SIM_DIR/again.$vd"
	eventually all_clean || bad "$what: host not clean"
}

error_round() { # serve|connect KIND ERROR N
	if [ "$1" = serve ]; then d=1; else d=2; fi
	retry_round "$1" $d "$2" "$4" "$3"
	[ "$fired_now" = 0 ] && walk_done=1
}
error_walk() { # serve|connect KIND ERROR
	walk error_round "$1" "$2" "$3"
	check "$1: $3 at each of $steps $2 calls, then a working attempt ($walk_failures failures)" \
		[ $? = 0 ]
}

# ---- groups ----------------------------------------------------------------

group_kill_client() { kill_walk kill_client_round xs; kill_walk kill_client_round host; }
group_kill_listener() {
	client_ms=1500
	kill_walk kill_listener_round xs
	kill_walk kill_listener_round host
}
group_error_client() { error_walk connect xs EIO; error_walk connect host ENOMEM; }
group_error_listener() { error_walk serve xs EIO; error_walk serve host ENOMEM; }

# One rule for a whole attempt: it fails cleanly (or copes), then works.
storm() { # description serve|connect KIND RANGE ERROR
	desc=$1
	if [ "$2" = serve ]; then d=1; else d=2; fi
	f0=$fail
	retry_round "$2" $d "$3" "$4" "$5"
	check "$desc: $(grep -v '^open' "$OUT/rt" | head -n 1), then it worked, nothing left" [ $fail = $f0 ]
}

group_storms() {
	storm "EAGAIN on 30 commits in a row (client)" connect xs-commit 1-30 EAGAIN
	storm "EAGAIN on 30 commits in a row (listener)" serve xs-commit 1-30 EAGAIN
	storm "EAGAIN on every commit (client)" connect xs-commit 1+ EAGAIN
	storm "EAGAIN on every commit (listener)" serve xs-commit 1+ EAGAIN
	storm "transaction quota reached (client)" connect xs-txn-start 1+ ENOSPC
	storm "transaction quota reached (listener)" serve xs-txn-start 1+ ENOSPC
	storm "watch quota reached (client)" connect xs-watch 1+ E2BIG
	storm "watch quota reached (listener)" serve xs-watch 1+ E2BIG
	storm "event channels exhausted (client)" connect evtchn-bind 1+ ENOSPC
	storm "event channels exhausted (listener)" serve evtchn-alloc 1+ ENOSPC
	storm "grants cannot be shared (listener)" serve grant-share 1+ ENOMEM
	storm "grants cannot be mapped (client)" connect grant-map 1+ ENOMEM
	storm "XenStore writes refused (client)" connect xs-write 1+ EACCES
	storm "XenStore writes refused (listener)" serve xs-write 1+ EACCES
	storm "XenStore reads fail (client)" connect xs-read 1+ EIO
	storm "XenStore reads fail (listener)" serve xs-read 1+ EIO
	node_quota
}

# The node quota really exhausted: the client's domain fills its quota
# with nodes of its own; its connect fails cleanly; once they are removed,
# the same context connects.
node_quota() {
	server_start
	wait_line "$OUT/srv" serving $srv
	: >"$OUT/rt"
	dom 2 "$PEER" connect 1 retry >"$OUT/rt" 2>&1 &
	rt=$!
	wait_line "$OUT/rt" "^open" $rt
	base=$(stats_of 2)
	# As dom2: nodes until XenStore refuses one (C xenstored: 1000 a domain).
	# (the connection's domain is the socket it comes in on)
	i=0
	# (a hundred a directory: a node's children count towards its size)
	while XENSTORED_PATH=$IVC_SIM_DIR/xs/dom2.sock \
		xenstore-write /local/domain/2/data/fill/$((i / 100))/$i x 2>/dev/null; do
		i=$((i + 1))
	done
	touch "$IVC_SIM_DIR/go.2"
	wait_line "$OUT/rt" "^done first\|^failed" $rt
	first=$(grep -v '^open' "$OUT/rt" | head -n 1)
	check "node quota exhausted ($i nodes written): the client failed cleanly ($first)" grep -q "^failed" "$OUT/rt"
	xs0 rm /local/domain/2/data/fill
	settles 2 "$base" || bad "node quota: the failed attempt left something"
	touch "$IVC_SIM_DIR/again.2"
	wait $rt
	check "node quota: nodes freed, the same context connects" [ $? = 0 ]
	server_stop
	check "node quota: nothing left" eventually all_clean
}

# ivc-rendezvousd killed at its Nth XenStore request of a round, and
# restarted at once by a supervisor (as systemd would): a listener
# registers, a client connects, echoes and closes, the listener's domain
# dies and the daemon cleans up after it. The listener and the client are
# served or end by themselves with an error; a new client reaches the
# listener; nothing is left.
supervise() { # PID: restarts the daemon whenever it dies, until $OUT/unsupervise
	sp=$1
	while [ ! -e "$OUT/unsupervise" ]; do
		if ! kill -0 "$sp" 2>/dev/null; then
			rdvd_start || echo "# restart failed"
			sp=$(rdvd_pid)
			echo restart >>"$OUT/restarts"
		fi
		sleep 0.02
	done
}
kill_daemon_round() { # N
	p=$(rdvd_pid)
	rm -f "$OUT/unsupervise" "$OUT/restarts"
	supervise "$p" &
	sv=$!
	simc fault "0:$p" xs "$1" kill
	server_start
	wait_line "$OUT/srv" serving $srv
	client 2
	rc=$?
	case $rc in 0 | 1) ;; *) bad "kill daemon at call $1: client status $rc: $(cat "$OUT/cl.2")" ;; esac
	if [ -e "$OUT/restarts" ]; then
		[ -n "$verbose" ] && echo "# daemon killed at call $1: client $rc $(error_of "$OUT/cl.2")"
		client 3 || bad "kill daemon at call $1: after the restart a client failed: $(cat "$OUT/cl.3") / $(cat "$OUT/srv")"
	fi
	server_stop
	eventually all_clean || bad "kill daemon at call $1: host not clean"
	f=$(fired)
	simc fault clear >/dev/null
	touch "$OUT/unsupervise"
	wait $sv
	if [ "$f" = 0 ]; then
		[ $rc = 0 ] || { bad "kill daemon: never reached, yet the client failed: $(cat "$OUT/cl.2")"; tail -n 5 "$OUT/srv"; tail -n 60 "$OUT/rdvd.log"; }
		walk_done=1
	fi
	# A kill between `fired` and `clear` (a tick): restarted here.
	kill -0 "$(rdvd_pid)" 2>/dev/null || rdvd_start
}
group_kill_daemon() {
	walk kill_daemon_round
	check "daemon killed at each of its $steps XenStore requests of a listen, a connect and both ends going ($walk_failures failures)" \
		[ $? = 0 ]
}

verbose=${IVC_FAULT_VERBOSE:-}
check "$GROUP ($MODE): host starts" sim_start
if [ "$MODE" = brokered ]; then
	dom 0 "$MKRD" -q || bad "mkrenddir"
	rdvd_start || bad "daemon start"
	rdvd0=$(rdvd_pid)
fi
"group_$(echo "$GROUP" | tr - _)"
# (a daemon killed by a bound of its own made every later step fail)
daemon_lived() { [ "$(rdvd_pid)" = "$rdvd0" ] && kill -0 "$rdvd0" 2>/dev/null; }
if [ "$MODE" = brokered ] && [ "$GROUP" != kill-daemon ]; then
	check "$GROUP: the daemon served the whole run (pid $rdvd0)" daemon_lived
fi
"$SIM" stop >/dev/null 2>&1
check "$GROUP: daemons exited without sanitizer reports" no_sanitizer_report
finish
