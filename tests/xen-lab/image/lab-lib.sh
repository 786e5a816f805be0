# Sourced by the Xen lab's init scripts (dom0-init, domU-init) and lab-domu.
export PATH=/usr/lib/xen-4.17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root

lab_log() { echo "lab: $*"; }

# The value of lab.KEY=VALUE on the kernel command line; fails if absent.
lab_arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "lab.$1="*) echo "${w#*=}"; return 0 ;; esac
	done
	return 1
}

lab_uptime() { cut -d' ' -f1 /proc/uptime; }

lab_mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1 # the initramfs has no /dev/console
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	mount -t tmpfs tmpfs /run
	mkdir -p /run/lock
	hostname "${1:-lab}"
}

# Loads /lab/modules (dependencies first). gntalloc's `limit` (pages this
# domain may share through /dev/xen/gntalloc, 1024 by default in Linux) is
# lab.gntalloc from the command line, 65536 if not given.
lab_modules() {
	LAB_GNTALLOC=$(lab_arg gntalloc || echo 65536)
	export LAB_GNTALLOC
	while read -r m; do
		a=""
		case $m in */xen-gntalloc.ko) a="limit=$LAB_GNTALLOC" ;; esac
		# shellcheck disable=SC2086
		insmod "/lib/modules/$(uname -r)/$m" $a || lab_log "insmod $m failed"
	done </lab/modules
	mount -t xenfs xenfs /proc/xen || lab_log "mount xenfs failed"
}
# x
