#!/bin/sh
# make fuzz: a long libFuzzer run of every harness, one after the other.
# usage: fuzz.sh BUILD SECONDS   (BUILD: a clang build with the harnesses)
# Each harness has its own corpus, BUILD/corpus-NAME (new inputs go there),
# and starts from tests/corpus/NAME too where that exists; its output goes
# to BUILD/fuzz-NAME.log and anything it finds to BUILD/fuzz-NAME-crash-*
# (or -leak-, -timeout-, -oom-). Prints each harness's executions at the
# end; exit 1 if a harness found something or was not built.
set -u
[ $# = 2 ] || { echo "usage: $0 BUILD SECONDS" >&2; exit 2; }
build=$1 secs=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
# Undefined behaviour stops the run like a crash, as in make check.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
fail=0
summary=""
# name:max_len (as in tests/meson.build)
for spec in core:512 parse:256 xsd:4096 policy:2048 guest-xs:4096; do
	name=${spec%%:*} max=${spec#*:}
	exe=$build/tests/fuzz-$name log=$build/fuzz-$name.log corpus=$build/corpus-$name
	if [ ! -x "$exe" ]; then
		summary="$summary
fuzz-$name: not built"
		fail=1
		continue
	fi
	seeds=$top/tests/corpus/$name
	[ -d "$seeds" ] || seeds=
	mkdir -p "$corpus"
	echo "==> fuzz-$name: $secs s (output: $log)"
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$secs" -max_len="$max" -print_final_stats=1 \
		-artifact_prefix="$build/fuzz-$name-" "$corpus" $seeds >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	files=$(find "$corpus" -type f | wc -l)
	if [ $rc = 0 ]; then
		result=ok
	else
		result="FOUND SOMETHING (status $rc): see $log"
		fail=1
	fi
	summary="$summary
fuzz-$name: ${runs:-?} executions (${rate:-?}/s), ${cov:-cov: ?}, corpus $files files: $result"
done
echo "$summary" | sed 1d
exit $fail
