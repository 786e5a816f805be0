#!/bin/sh
# Installs the Debian 12 host packages the Xen lab needs, if any are missing.
# As root it runs apt-get (one `apt-get update` first); otherwise it prints
# the command to run and fails. The Xen packages themselves are never
# installed on the host: build-images.sh downloads and unpacks them.
set -eu
want="qemu-system-x86 busybox-static cpio kmod gzip coreutils libxen-dev xenstore-utils"

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
