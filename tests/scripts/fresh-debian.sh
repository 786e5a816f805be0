#!/bin/sh
# The README's two commands as a new user runs them: a fresh Debian 12
# (bookworm minbase, with only `make` added), a clone of this repository's
# HEAD, then `make demo` and `make check` twice in a row. After each
# command, no process may be left running inside the machine.
#
# usage (as root): tests/scripts/fresh-debian.sh [WORKDIR]
#   WORKDIR (default build/fresh-debian) holds the chroot and the logs;
#   IVC_SKIP_XEN_LAB=1 is passed through to `make check`;
#   FRESH_RUNS (default 2) is how many times `make check` runs.
# Needs debootstrap (installed here if missing) and a Debian mirror: the
# one this machine's apt uses, or $DEBIAN_MIRROR.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(realpath -m "${1:-$top/build/fresh-debian}")
root=$work/root
runs=${FRESH_RUNS:-2}
log() { printf '==> %s\n' "$*"; }
die() { echo "fresh-debian: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || {
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
}

# The mirror this machine's apt already uses (deb822 or one-line form).
mirror=${DEBIAN_MIRROR:-$(
	{ grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
	  grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; } |
		grep -v security | head -n 1
)}
[ -n "$mirror" ] || die "no Debian mirror found in apt's sources; set DEBIAN_MIRROR"

mounted=""
umount_all() {
	for m in $mounted; do umount -l "$m" 2>/dev/null || true; done
	mounted=""
}
# Processes whose root is the chroot: what a run left behind.
inside() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
	done
	return 0
}
cleanup() {
	pids=$(inside)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	umount_all
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work"
if [ ! -x "$root/usr/bin/make" ]; then
	umount_all
	rm -rf "$root"
	log "debootstrap bookworm (minbase) into $root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$work/debootstrap.log"; die "debootstrap failed"; }
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	log "apt-get install make (the one package added by hand)"
	chroot "$root" sh -c 'apt-get update -q && apt-get install -y -q make' >"$work/make.log" 2>&1 ||
		{ tail -n 20 "$work/make.log"; die "installing make failed"; }
fi

# /dev (for /dev/kvm and /dev/shm), /proc and /sys, as a container has.
for m in proc sys dev dev/pts; do
	mkdir -p "$root/$m"
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	sys) mount -t sysfs sys "$root/sys" ;;
	dev) mount --bind /dev "$root/dev" ;;
	dev/pts) mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true ;;
	esac
	mounted="$root/$m $mounted"
done
mkdir -p "$root/run" "$root/tmp"
chmod 1777 "$root/tmp"

log "git clone of HEAD ($(git -C "$top" rev-parse --short HEAD)) into /root/libivc"
rm -rf "$root/root/libivc"
git clone -q "$top" "$root/root/libivc"

status=0
step() { # name, command (run in the clone, inside the chroot)
	name=$1
	t=$(date +%s)
	log "$name"
	if chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 IVC_SKIP_XEN_LAB="${IVC_SKIP_XEN_LAB:-0}" \
		sh -c "cd /root/libivc && $2" >"$work/$name.log" 2>&1; then
		res=passed
	else
		res=FAILED
		status=1
	fi
	grep -E 'passed, [0-9]+ failed|^failed:|^time:|^left' "$work/$name.log" || true
	left=$(inside)
	if [ -n "$left" ]; then
		echo "left running after $name:"
		for p in $left; do echo "  $p $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
		kill -9 $left 2>/dev/null || true
		res="$res, processes left"
		status=1
	fi
	echo "    $name: $res in $(($(date +%s) - t)) s (log: $work/$name.log)"
}

step demo "make demo"
i=1
while [ $i -le "$runs" ]; do
	step "check-$i" "make check"
	i=$((i + 1))
done
[ $status = 0 ] && log "fresh Debian 12: demo and $runs x check passed, nothing left behind" ||
	log "fresh Debian 12: FAILED"
exit $status
