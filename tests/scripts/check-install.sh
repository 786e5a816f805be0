#!/bin/sh
# `make install` as a user sees it: install into a scratch DESTDIR, then
# build a program against the installed libivc through pkg-config, check
# that only the public API is exported, and run the program.
# usage: check-install.sh BUILD_DIR
set -u
build=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d "${TMPDIR:-/tmp}/ivc-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

meson install -C "$build" --destdir "$dest" --quiet >"$dest.log" 2>&1 || {
	cat "$dest.log"
	rm -f "$dest.log"
	echo "FAIL: meson install"
	exit 1
}
rm -f "$dest.log"
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
root=$dest$prefix
pc=$(find "$root" -name ivc.pc | head -n 1)
[ -n "$pc" ] || no "ivc.pc not installed"
for f in include/ivc.h include/ivc/wire.h; do
	[ -f "$root/$f" ] || no "$f not installed"
done
for f in ivc-sim ivc-simd ivc-xenstored echo-server echo-client ivc ivc-top; do
	[ -n "$(find "$root" -name "$f" -type f)" ] || no "$f not installed"
done
for m in ivc-sim.1 ivc.1 ivc-top.1 ivc_mon_open.3; do
	[ -n "$(find "$root" -name "$m*")" ] || no "$m not installed"
done
[ -n "$(find "$root" -path '*bash-completion/completions/ivc')" ] || no "bash completion not installed"
[ -n "$(find "$root" -name 'ivc.7*')" ] || echo "note: ivc(7) not installed yet"
lib=$(find "$root" -name 'libivc.so.*' -type f | head -n 1)
[ -n "$(find "$root" -name 'libivc.a')" ] || no "libivc.a not installed"

if [ -n "$pc" ] && [ -n "$lib" ]; then
	flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$root" --cflags --libs ivc) ||
		no "pkg-config ivc"
	# shellcheck disable=SC2086
	cc -std=c11 -Wall -Wextra -Werror -o "$dest/client" "$top/examples/echo-client.c" $flags ||
		no "cannot build against the installed library"
	bad=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' |
		sed 's/@.*//' | grep -v '^ivc_' || true)
	[ -z "$bad" ] || no "exported beyond ivc_*: $bad"
	# Runs, and fails cleanly: no host, no Xen.
	out=$(IVC_PLATFORM=sim IVC_SIM_DIR=$dest/nohost LD_LIBRARY_PATH=$(dirname "$lib") \
		"$dest/client" 1 2>&1)
	rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q "ivc_open" ||
		no "installed client did not fail cleanly without a host (rc $rc: $out)"
fi
# The guest runtime (x86-64 builds without sanitizers): a guest program
# in one command, and through pkg-config; each image has Xen's PVH entry
# note (type 0x12) and nothing undefined.
gcc_wrap=$(find "$root" -name ivc-guest-cc -type f | head -n 1)
gpc=$(find "$root" -name ivc-guest.pc | head -n 1)
if [ -n "$gcc_wrap" ]; then
	"$gcc_wrap" -std=c11 -Wall -Wextra -Werror -o "$dest/hello" "$top/examples/guest-hello.c" ||
		no "ivc-guest-cc cannot build a guest"
	readelf -n "$dest/hello" 2>/dev/null | grep -q 'Xen.*0x00000012' ||
		no "ivc-guest-cc's image has no PVH entry note"
	[ -n "$gpc" ] || no "ivc-guest.pc not installed"
	gflags=$(PKG_CONFIG_PATH=$(dirname "$gpc") pkg-config --define-variable=prefix="$root" \
		--cflags --libs ivc-guest) || no "pkg-config ivc-guest"
	# shellcheck disable=SC2086
	cc -std=c11 -Wall -Wextra -Werror -o "$dest/echo" "$top/examples/echo-server.c" $gflags ||
		no "cannot build a guest through pkg-config ivc-guest"
	readelf -n "$dest/echo" 2>/dev/null | grep -q 'Xen.*0x00000012' ||
		no "the pkg-config guest image has no PVH entry note"
fi
[ $fail = 0 ] && echo "ok - installed, built against with pkg-config, only ivc_* exported"
exit $fail
