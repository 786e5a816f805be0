#!/bin/sh
# Builds the Xen lab's boot images from Debian packages, without installing
# Xen on the host.
#
# usage: build-images.sh [CACHE_DIR]
#
#   CACHE_DIR  where everything goes (default build/xen-lab):
#              debs/    the downloaded packages (apt-get download, kept)
#              root/    the packages unpacked (dpkg -x)
#              images/  xen (multiboot ELF), vmlinuz, dom0.cpio.gz,
#                       domU.cpio.gz, key
#
# Programs built on the host (the libIVC tests) are not in the images: dom0
# sees them over 9p, and lab-domu copies them into a domU's initramfs. They
# find glibc (all of the host's libc6 package), libgcc_s and the Xen
# libraries in both images.
#
# Images are rebuilt only when an input changed: the package files, this
# directory's scripts, busybox, or a host library that goes into them.
# The lab kernel, Xen and tools are Debian 12's; glibc and the other
# libraries come from the host, so host-built programs run unchanged.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-build/xen-lab}
mkdir -p "$CACHE/debs" "$CACHE/images"
CACHE=$(cd "$CACHE" && pwd)
T0=$(date +%s.%N)
say() { echo "build-images: $*" >&2; }
die() { say "error: $*"; exit 1; }

for c in apt-get apt-cache dpkg busybox cpio gzip depmod modprobe ldd sha256sum flock; do
	command -v $c >/dev/null || die "$c missing (run tests/xen-lab/deps.sh as root)"
done
# one build at a time per cache
exec 9>"$CACHE/.lock"
flock 9

# ---- 1. packages ------------------------------------------------------
XENV=4.17
kernel=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9.-]*-amd64\)$/\1/p' | head -n 1)
[ -n "$kernel" ] || kernel=$(cd "$CACHE/debs" && ls -t linux-image-*.deb 2>/dev/null | head -n 1 | cut -d_ -f1)
[ -n "$kernel" ] || die "no kernel package: apt-cache depends linux-image-amd64 gave nothing (run apt-get update)"
pkgs="xen-hypervisor-$XENV-amd64 xen-utils-$XENV xen-utils-common xenstore-utils
 libxenmisc$XENV libxenstore4 libxenevtchn1 libxengnttab1 libxentoolcore1 libxencall1
 libxenforeignmemory1 libxendevicemodel1 libxentoollog1 libxenhypfs1 libyajl2 $kernel"
# apt-get download names files package_version_arch.deb (":" as %3a).
# One apt-cache call: each costs most of a second.
want=$(apt-cache show --no-all-versions $pkgs 2>/dev/null | awk '
	/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^Architecture:/ { a = $2 }
	/^$/ && p != "" { gsub(":", "%3a", v); print p "_" v "_" a ".deb"; p = "" }
	END { if (p != "") { gsub(":", "%3a", v); print p "_" v "_" a ".deb" } }')
debs="" missing=""
for p in $pkgs; do
	f=$(echo "$want" | grep "^${p}_" | head -n 1)
	if [ -n "$f" ] && [ ! -s "$CACHE/debs/$f" ]; then
		missing="$missing $p"
	elif [ -z "$f" ]; then
		# apt's lists unavailable: the newest cached file
		f=$(cd "$CACHE/debs" && ls -t "${p}_"*.deb 2>/dev/null | head -n 1)
		[ -n "$f" ] || die "package $p: unknown to apt-cache (run apt-get update) and not cached"
	fi
	debs="$debs $f"
done
if [ -n "$missing" ]; then
	say "downloading$missing"
	# shellcheck disable=SC2086
	(cd "$CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download $missing >/dev/null) ||
		die "apt-get download failed"
	for f in $debs; do [ -s "$CACHE/debs/$f" ] || die "apt-get download gave no $f"; done
fi
debs=$(echo $debs)
# older versions of the packages go
for f in "$CACHE"/debs/*.deb; do
	case " $debs " in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done

# ---- 2. unpack (only when the package set changed) -----------------------
ROOT=$CACHE/root
if [ "$(cat "$ROOT/.debs" 2>/dev/null)" != "$debs" ]; then
	say "unpacking $(echo $debs | wc -w) packages"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	for f in $debs; do dpkg -x "$CACHE/debs/$f" "$ROOT"; done
	gunzip -c "$ROOT"/boot/xen-$XENV-amd64.gz >"$ROOT/boot/xen.elf"
	echo "$debs" >"$ROOT/.debs"
fi
KVER=$(ls "$ROOT/lib/modules" | head -n 1)
[ -n "$KVER" ] || die "no kernel modules in $ROOT/lib/modules"
[ -f "$ROOT/lib/modules/$KVER/modules.dep" ] || depmod -b "$ROOT" "$KVER"
XENBIN=usr/lib/xen-$XENV/bin
LIBDIR=usr/lib/x86_64-linux-gnu

# ---- 3. what goes in: host libraries, resolved now ---------------------
# The ELF programs of the images, from the packages.
tools=""
for f in "$ROOT/$XENBIN"/* "$ROOT/usr/bin/xenstore"; do
	[ -f "$f" ] && [ ! -L "$f" ] && [ "$(head -c 4 "$f" | tr -d '\177')" = ELF ] && tools="$tools $f"
done
# Host libraries each ELF needs that the packages do not provide (lenient:
# a tool whose library is missing on the host is only unusable).
hostlibs=$(
	for f in $tools; do
		LD_LIBRARY_PATH=$ROOT/$LIBDIR ldd "$f" 2>/dev/null || true
	done | awk '
		/=> not found/ { next }
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' | grep -v "^$ROOT/" | sort -u
)
# All of glibc (libm, libresolv, NSS...) for the programs under test, and
# libgcc_s, which pthread_cancel() dlopen()s (xl needs it).
hostlibs="$hostlibs $(dpkg -L libc6 libgcc-s1 2>/dev/null |
	grep -E '^/(usr/)?lib(64)?/(x86_64-linux-gnu/)?[^/]*\.so[.0-9]*$' | sort -u)"
# ivc-top in dom0: ncurses (its batch mode needs no terminfo).
hostlibs="$hostlibs $(dpkg -L libncursesw6 libtinfo6 2>/dev/null | grep -E '\.so[.0-9]*$')"
hostlibs=$(for l in $hostlibs; do [ -f "$l" ] && echo "$l"; done | sort -u)
for l in libc.so.6 ld-linux-x86-64.so.2; do
	echo "$hostlibs" | grep -q "$l" || die "host library $l not resolved"
done

key=$( {
	echo "$debs"
	cat "$here/build-images.sh" "$here"/image/*
	sha256sum /bin/busybox
	for l in $hostlibs; do sha256sum "$(readlink -f "$l")"; echo "$l"; done
} | sha256sum | cut -c1-16)
IMG=$CACHE/images
if [ "$(cat "$IMG/key" 2>/dev/null)" = "$key" ] &&
	[ -s "$IMG/dom0.cpio.gz" ] && [ -s "$IMG/domU.cpio.gz" ]; then
	say "images up to date ($IMG, key $key)"
	exit 0
fi

# ---- 4. trees ------------------------------------------------------------
W=$CACHE/work
rm -rf "$W"
mkdir -p "$W"

# A root with busybox, glibc and the host libraries, shared by both images.
base() {
	r=$1
	mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib/x86_64-linux-gnu" "$r/usr/lib64" \
		"$r/proc" "$r/sys" "$r/dev" "$r/run" "$r/tmp" "$r/root" "$r/etc" "$r/lab" \
		"$r/var/log" "$r/var/lib" "$r/mnt"
	ln -s usr/bin "$r/bin"
	ln -s usr/sbin "$r/sbin"
	ln -s usr/lib "$r/lib"
	ln -s usr/lib64 "$r/lib64"
	ln -s /run "$r/var/run"
	ln -s /run/lock "$r/var/lock"
	chmod 1777 "$r/tmp"
	cp /bin/busybox "$r/usr/bin/busybox"
	for a in $(busybox --list); do
		[ "$a" = busybox ] && continue
		[ -e "$r/usr/bin/$a" ] || ln -s busybox "$r/usr/bin/$a"
	done
	for l in $hostlibs; do
		d=$r/$(dirname "$l")
		mkdir -p "$d"
		cp -L "$l" "$d/"
	done
	cp -a "$ROOT/$LIBDIR"/lib*.so* "$r/$LIBDIR/"
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	echo "passwd: files" >"$r/etc/nsswitch.conf"
	echo "group: files" >>"$r/etc/nsswitch.conf"
	: >"$r/etc/fstab"
	# xenstore-utils: one multi-call binary
	cp -a "$ROOT/usr/bin/xenstore"* "$r/usr/bin/"
}

# Modules and their dependencies, in load order, as lab/modules: one
# "path" a line, relative to /lib/modules/KVER.
modules() {
	r=$1
	shift
	m=$r/lib/modules/$KVER
	mkdir -p "$m"
	for mod in "$@"; do
		modprobe -d "$ROOT" -S "$KVER" --show-depends "$mod" |
			sed -n 's/^insmod \([^ ]*\).*/\1/p'
	done | awk '!seen[$0]++' | while read -r p; do
		rel=${p#"$ROOT/lib/modules/$KVER/"}
		mkdir -p "$m/$(dirname "$rel")"
		cp "$p" "$m/$rel"
		echo "$rel"
	done >"$r/lab/modules"
}

say "building images (key $key)"
D0=$W/dom0
DU=$W/domU
base "$D0"
base "$DU"

# dom0: the Xen toolstack and daemons, 9p for the host's folders.
mkdir -p "$D0/usr/lib/xen-$XENV" "$D0/etc/xen" "$D0/var/lib/xen" "$D0/var/lib/xenstored" \
	"$D0/var/log/xen/console"
cp -a "$ROOT/$XENBIN" "$D0/usr/lib/xen-$XENV/"
cp -a "$ROOT/usr/lib/xen-$XENV/lib" "$D0/usr/lib/xen-$XENV/" 2>/dev/null || true
cp "$ROOT/etc/xen/xl.conf" "$D0/etc/xen/"
cp -a "$ROOT/etc/xen/scripts" "$D0/etc/xen/"
modules "$D0" xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_pci 9pnet_virtio 9p
cp "$here/image/dom0-init" "$D0/init"
cp "$here/image/lab-domu" "$D0/usr/bin/lab-domu"
cp "$here/image/lab-lib.sh" "$D0/lab/lab-lib.sh"
cp "$ROOT/boot/vmlinuz-$KVER" "$D0/lab/vmlinuz"
chmod 755 "$D0/init" "$D0/usr/bin/lab-domu"

# domU: only what a guest needs to run libIVC programs.
modules "$DU" xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd
cp "$here/image/domU-init" "$DU/init"
cp "$here/image/lab-lib.sh" "$DU/lab/lab-lib.sh"
chmod 755 "$DU/init"

cpio_gz() { # dir -> file
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}
cpio_gz "$DU" "$IMG/domU.cpio.gz"
cp "$IMG/domU.cpio.gz" "$D0/lab/domU.cpio.gz"
(cd "$DU" && find . ! -type d | sed 's#^\./##' | LC_ALL=C sort) >"$D0/lab/domU.files"
cpio_gz "$D0" "$IMG/dom0.cpio.gz"
cp "$ROOT/boot/xen.elf" "$IMG/xen"
cp "$ROOT/boot/vmlinuz-$KVER" "$IMG/vmlinuz"
echo "$key" >"$IMG/key"
rm -rf "$W"
say "done in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s:" \
	"dom0.cpio.gz $(du -k "$IMG/dom0.cpio.gz" | cut -f1) KiB," \
	"domU.cpio.gz $(du -k "$IMG/domU.cpio.gz" | cut -f1) KiB"
