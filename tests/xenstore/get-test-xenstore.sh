#!/bin/sh
# Prints the path of Xen's own test-xenstore (from Debian's xen-utils-4.17), fetching and
# unpacking the package into CACHE_DIR once. Never installs it. Exit 77 when it cannot
# be had (no apt-get/dpkg, no network).
set -u
cache=${1:?usage: get-test-xenstore.sh CACHE_DIR}
bin=$cache/x/usr/lib/xen-4.17/bin/test-xenstore
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || {
	echo "SKIP: apt-get/dpkg not available" >&2
	exit 77
}
mkdir -p "$cache" || exit 77
(cd "$cache" && apt-get download xen-utils-4.17) >"$cache/download.log" 2>&1 || {
	echo "SKIP: apt-get download xen-utils-4.17 failed (see $cache/download.log)" >&2
	exit 77
}
deb=$(ls "$cache"/xen-utils-4.17_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] && dpkg -x "$deb" "$cache/x" && [ -x "$bin" ] || {
	echo "SKIP: could not unpack test-xenstore" >&2
	exit 77
}
echo "$bin"
