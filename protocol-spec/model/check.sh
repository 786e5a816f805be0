#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check.sh - model-check the Promela models of this directory with spin.
#
# ivc_ring.pml (one ring, notification protocol, close), peer_state.pml
# (classification of the peer's side line) and rendezvous.pml (brokered
# rendezvous: daemon, listener and client with domain or process deaths
# and a daemon restart) must verify with no errors over their complete state spaces;
# every deliberately broken variant must be rejected, for the expected
# reason. Exit status: 0 all expectations hold, 1 otherwise,
# 77 when spin or a C compiler is missing (the automake "skip" code).
#
# Everything is generated in a temporary directory; nothing is written next
# to the model. Environment: CC (C compiler), SPIN (spin binary),
# PAN_CFLAGS (optimisation flags for the complete searches' pan.c, default
# -O2; a broken variant stops at its first error, so its pan.c is built
# without optimisation: compiling was most of its time), MODEL_JOBS (how
# many verifications run at once, default 2).
#
# Each verification is a job: `check.sh --job N` runs the Nth alone; the
# script runs them all through xargs and prints their lines in order.

set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
SPIN=${SPIN:-spin}
PAN_CFLAGS=${PAN_CFLAGS:--O2}
JOB=0 # 0: run every job; N: only the Nth (see the end)
[ "${1:-}" = --job ] && JOB=$2
[ "${1:-}" = --list ] && JOB=-1
DEPTH=100000 # pan -m: must exceed the deepest path (under 400 today)

if ! command -v "$SPIN" >/dev/null 2>&1; then
	echo "skip - spin not found"
	exit 77
fi
if [ -z "${CC:-}" ]; then
	for c in cc gcc clang; do
		if command -v "$c" >/dev/null 2>&1; then
			CC=$c
			break
		fi
	done
fi
if [ -z "${CC:-}" ] || ! command -v "$CC" >/dev/null 2>&1; then
	echo "skip - no C compiler"
	exit 77
fi

if [ "$JOB" = 0 ]; then
	# All jobs, the complete searches first (the long ones), MODEL_JOBS
	# at a time; each job's output in a file, printed in job order.
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ivc-model.XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' HUP INT PIPE TERM
	sh "$0" --list >"$tmp/list" || exit 1
	{ awk '$2 == "good" { print $1 }' "$tmp/list"
	  awk '$2 != "good" { print $1 }' "$tmp/list"; } |
		xargs -P "${MODEL_JOBS:-2}" -I{} sh -c 'sh "$1" --job "$2" >"$3/out.$2" 2>&1; echo $? >"$3/rc.$2"' \
			sh "$0" {} "$tmp"
	failed=0
	for j in $(awk '{ print $1 }' "$tmp/list"); do
		cat "$tmp/out.$j" 2>/dev/null || echo "not ok - job $j printed nothing"
		[ "$(cat "$tmp/rc.$j" 2>/dev/null)" = 0 ] || failed=1
	done
	exit "$failed"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ivc-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

failed=0
n=0

# verify MODEL NAME SPIN-FLAGS...: generate, compile and run the verifier
# in its own directory. Sets $out to pan's output file. Returns 1 if a tool
# failed.
verify() {
	model=$1
	name=$2
	shift 2
	dir=$tmp/$n
	mkdir "$dir" && cp "$here/$model" "$dir/" || return 1
	out=$dir/pan.out
	if ! (cd "$dir" && "$SPIN" "$@" -a "$model") >"$dir/spin.log" 2>&1; then
		echo "not ok - $name: spin -a failed"
		sed 's/^/#   /' "$dir/spin.log"
		return 1
	fi
	# Exhaustive safety search: assertions and invalid end states, no
	# partial-order reduction. (No -DCOLLAPSE and a 2^24 hash table for a
	# complete search: twice as fast as compressed vectors in 2^22; the
	# largest search, the ring model's, takes 1.8 GB.)
	# shellcheck disable=SC2086
	if ! (cd "$dir" && "$CC" $cflags -DSAFETY -DNOREDUCE \
		-o pan pan.c) >"$dir/cc.log" 2>&1; then
		echo "not ok - $name: compiling pan.c failed"
		sed 's/^/#   /' "$dir/cc.log"
		return 1
	fi
	# pan's exit status does not tell errors apart; its output does.
	(cd "$dir" && ./pan -m"$DEPTH" -w"$hash") >"$out" 2>&1
	return 0
}

# The statements pan reports unreached, except the "-end-" of the
# rendezvous daemon, which runs for ever.
unreached() {
	awk '/^unreached in / { p = $4 }
	/^\t.*, state [0-9]+, / && !(p == "daemon" && /"-end-"$/)' "$out"
}

errors_of() {
	sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | head -n 1
}

fail() {
	echo "not ok - $1"
	sed 's/^/#   /' "$out"
	failed=1
}

# good MODEL NAME FLAGS...: the correct protocol. No error, complete
# search, nothing unreached.
good() {
	model=$1
	name=$2
	shift 2
	mine good || return 0
	cflags=$PAN_CFLAGS hash=24
	verify "$model" "$name" "$@" || {
		failed=1
		return
	}
	e=$(errors_of)
	states=$(awk '/states, stored/ { print $1; exit }' "$out")
	depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	if [ "$e" != 0 ]; then
		fail "$name: ${e:-no} errors reported"
	elif grep -q 'max search depth too small' "$out"; then
		fail "$name: search truncated by depth (-m$DEPTH)"
	elif grep -q -e 'Search not completed' -e 'out of memory' "$out"; then
		fail "$name: search not completed"
	elif ! grep -q 'Full statespace search' "$out" ||
		! grep -Eq 'assertion violations[[:space:]]+\+' "$out" ||
		! grep -Eq 'invalid end states[[:space:]]+\+' "$out"; then
		fail "$name: not a full search for assertions and invalid end states"
	elif [ -n "$(unreached)" ]; then
		# Every statement, every sleep and end-of-stream, must be reached,
		# or the model would verify vacuously.
		fail "$name: unreached code"
	else
		echo "ok - $name: 0 errors, $states states, depth $depth, search complete"
	fi
}

# broken MODEL NAME WHY PATTERN FLAGS...: a broken variant. pan must report
# an error whose message matches PATTERN.
broken() {
	model=$1
	name=$2
	why=$3
	pattern=$4
	shift 4
	mine broken || return 0
	cflags=-O0 hash=22
	verify "$model" "$name" "$@" || {
		failed=1
		return
	}
	e=$(errors_of)
	if [ -z "$e" ] || [ "$e" -eq 0 ]; then
		fail "$name: accepted, should have been rejected"
	elif ! grep -Eq "^pan:1: ($pattern)" "$out"; then
		fail "$name: rejected for an unexpected reason"
	else
		got=$(sed -n 's/^pan:1: //p' "$out" | head -n 1 | tr -s ' ' | cut -c 1-60)
		echo "ok - $name rejected ($why): $got"
	fi
}

# mine KIND: counts this job; whether it is the one to run (--list prints it).
mine() {
	n=$((n + 1))
	[ "$JOB" = -1 ] && echo "$n $1"
	[ "$JOB" = "$n" ]
}

stranded='assertion violated +!\(\(\(sleeping\['
endstate='invalid end state'

R=ivc_ring.pml
good $R "ring: good model"
for v in NO_RECHECK NO_SPACE_RECHECK NOTIFY_BEFORE_PUBLISH NO_CLOSE_SIGNAL STALE_RECHECK \
	SIDE_COPY_LATE; do
	broken $R "ring: broken $v" "stranded sleeper or deadlock" \
		"$stranded|$endstate" -D"$v"
	broken $R "ring: broken $v, end-state check only" "deadlock" \
		"$endstate" -D"$v" -DNO_STRANDED_ASSERTS
done
broken $R "ring: broken PUBLISH_BEFORE_WRITE" "payload integrity" \
	'assertion violated \(ring\[' -DPUBLISH_BEFORE_WRITE
broken $R "ring: broken EOF_NO_REREAD" "EOF before all messages" \
	'assertion violated \(expect==' -DEOF_NO_REREAD

S=peer_state.pml
good $S "peer state: good model"
for v in READ_CLOSED_FIRST WRITE_ATTACHED_FIRST; do
	broken $S "peer state: broken $v" "live peer reported dead" \
		'assertion violated \(\(st!=3\)\|\|crashed\)' -D"$v"
done

V=rendezvous.pml
leak='assertion violated \(+ !\(settled\)'
good $V "rendezvous: good model"
good $V "rendezvous: good model, process deaths" -DPROCESS_DEATHS
broken $V "rendezvous: broken NO_OWNER_CHECK" "dead context's end left" \
	"$leak" -DPROCESS_DEATHS -DNO_OWNER_CHECK
broken $V "rendezvous: broken NO_NOTICE_RM" "notice left" \
	"$leak" -DNO_NOTICE_RM
broken $V "rendezvous: broken MARKER_OFFERED_ONLY" "marker left once open" \
	"$leak" -DMARKER_OFFERED_ONLY
broken $V "rendezvous: broken NO_UNATTACHED_REMOVAL" "untaken end left" \
	"$leak" -DNO_UNATTACHED_REMOVAL
broken $V "rendezvous: broken RESTART_NO_STATES" "closed end left" \
	"$leak|$endstate" -DRESTART_NO_STATES
broken $V "rendezvous: broken RESTART_NO_DEATHS" "dead domain's area left" \
	"$leak|$endstate" -DRESTART_NO_DEATHS
broken $V "rendezvous: broken WITHDRAW_STATE_FIRST" "attach to a removed end" \
	'assertion violated +(lend|\( *!\(s_alive\)\|\|s_pgone\))' -DWITHDRAW_STATE_FIRST
broken $V "rendezvous: broken PEER_GONE_ATTACHED" "open without attach" \
	'assertion violated c_attached' -DPEER_GONE_ATTACHED
# The text of 9.11 read literally where the model departs from it.
broken $V "rendezvous: spec 9.11.3 SPEC_REQ_GONE" "client end left" \
	"$leak|$endstate" -DSPEC_REQ_GONE
broken $V "rendezvous: spec 9.11.4 SPEC_CLOSE_STEPS" "other end left" \
	"$leak|$endstate" -DSPEC_CLOSE_STEPS
broken $V "rendezvous: spec 9.11.4 SPEC_CLOSE_KEEPS_MARKER" "marker left" \
	"$leak" -DSPEC_CLOSE_KEEPS_MARKER
broken $V "rendezvous: spec 9.11.6 SPEC_DEATH_KEEPS_END" "untaken end left" \
	"$leak" -DSPEC_DEATH_KEEPS_END
broken $V "rendezvous: spec 9.11.7 SPEC_RESTART" "orphan answer left" \
	"$leak" -DSPEC_RESTART
broken $V "rendezvous: spec 9.11.5 SPEC_ANSWER_WAIT" "client waits for ever" \
	"$endstate" -DSPEC_ANSWER_WAIT

exit "$failed"
