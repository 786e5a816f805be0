#!/bin/sh
# Installs the Debian 12 packages a target needs, if any are missing.
# Usage: deps.sh build|check|bench|xen-lab
# As root it runs apt-get (one `apt-get update` first); otherwise it prints
# the command to run and fails.
set -eu
build="gcc libc6-dev make meson ninja-build pkg-config python3 libxen-dev xenstore-utils libncurses-dev"
check="$build clang libclang-rt-14-dev clang-format spin groff-base man-db procps gnuplot-nox bats tmux python3-jsonschema"
# make bench: the sweep and its plot.
bench="$build gnuplot-nox"
# The Xen lab's host side (the Xen packages themselves are never installed
# on the host: tests/xen-lab/build-images.sh downloads and unpacks them).
xenlab="qemu-system-x86 busybox-static cpio kmod gzip coreutils libxen-dev xenstore-utils"
case "${1:-build}" in
build) want=$build ;;
check) want=$check ;;
bench) want=$bench ;;
xen-lab) want=$xenlab ;;
*) echo "usage: $0 build|check|bench|xen-lab" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing missing packages:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "error: not root; run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
