#!/bin/sh
# Xen's own XenStore conformance program, test-xenstore, against ivc-xenstored as dom0:
# every test once, then every test three times.
set -u
daemon=$1 cache=$2
here=$(dirname "$0")
tx=$(sh "$here/get-test-xenstore.sh" "$cache") || exit 77
. "$here/lib.sh"
xsd_start "$daemon"
expected=$("$tx" -l | wc -l)
for args in "" "-i 3"; do
	# shellcheck disable=SC2086
	out=$("$tx" $args 2>&1)
	rc=$?
	echo "$out"
	n=$(echo "$out" | grep -c ' ns')
	if [ $rc -eq 0 ] && [ "$n" -eq "$expected" ]; then
		ok "test-xenstore $args: $n tests passed"
	else
		bad "test-xenstore $args: exit $rc, $n of $expected tests reported"
	fi
done
[ $fails -eq 0 ]
