#!/bin/sh
# Boots the Xen lab once (Xen 4.17 + a Linux dom0 in QEMU, TCG), runs a
# command file in dom0, and returns its output and exit status.
#
# usage: run.sh [OPTIONS] CMDFILE         run CMDFILE (sh) in dom0
#        run.sh [OPTIONS] -e 'COMMANDS'   the same, commands given inline
#        run.sh [OPTIONS] --shell [CMDFILE]
#                                         interactive shell on dom0's console
#                                         (after CMDFILE, if given)
# Options:
#   -c DIR      image cache (default build/xen-lab; images built if needed)
#   -s DIR      share DIR with dom0, read-only, at the same path (repeatable;
#               the repository is always shared)
#   -t SECS     hard timeout for the whole lab (default 1200)
#   -g PAGES    gntalloc limit in dom0 and every domU (default 65536)
#   -m MIB      the machine's memory (default 2048; dom0 has 512 of it,
#               Xen keeps some, the rest is for domUs)
#   -q          print the command's output at the end, not as it comes
#   -v          dom0 kernel not quiet
#
# Environment: IVC_XEN_LAB_CPU replaces QEMU's -cpu (default
# max,-smap,-rdtscp: SMAP crashes the PV dom0, RDTSCP breaks PVH guests);
# IVC_XEN_LAB_XEN_ARGS replaces the extra arguments of Xen (default
# spec-ctrl=eager-fpu: with Xen's lazy FPU switching, the default for this
# AMD-like CPU, guests' SSE/AVX registers are now and then lost under
# QEMU's TCG, and glibc's memcpy copies garbage; see README.md).
#
# The command runs as root in dom0 with the shared folders mounted at their
# host paths, in the host's current directory (if shared, else /), with
# `lab-domu` (domUs) and the Xen tools on PATH; its stdout and stderr come
# back on this script's stdout. Exit status: the command's; 124 when the
# hard timeout hit; 125 when the lab failed (no status came back): then
# dom0's console log (Xen's and Linux's messages) is printed to stderr, as
# on any failure. The last run's files stay in CACHE/last/ (console.log,
# output, rc, cmd).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=$repo/build/xen-lab
shares="$repo"
tmo=1200 mem=2048 gnt=65536 live=1 shell=0 quiet=quiet cmdfile="" inline=""
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "run.sh: $*" >&2; exit 125; }
while [ $# -gt 0 ]; do
	case $1 in
	-c) CACHE=$2; shift ;;
	-s) shares="$shares $(cd "$2" && pwd)" || die "no such folder: $2"; shift ;;
	-t) tmo=$2; shift ;;
	-g) gnt=$2; shift ;;
	-m) mem=$2; shift ;;
	-q) live=0 ;;
	-v) quiet="" ;;
	-e) inline=$2; shift ;;
	--shell) shell=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) cmdfile=$1 ;;
	esac
	shift
done
[ -n "$cmdfile$inline" ] || [ $shell = 1 ] || usage
[ -z "$cmdfile" ] || [ -f "$cmdfile" ] || die "no such file: $cmdfile"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run tests/xen-lab/deps.sh as root"

"$here/build-images.sh" "$CACHE" || die "building the images failed"
CACHE=$(cd "$CACHE" && pwd)
IMG=$CACHE/images
case "$IMG" in *[,\ ]*) die "the cache path must contain no comma or space (QEMU's -initrd list): $IMG" ;; esac

run=$(mktemp -d "$CACHE/run.XXXXXX") || die "mktemp"
if [ -n "$inline" ]; then printf '%s\n' "$inline" >"$run/cmd"; elif [ -n "$cmdfile" ]; then cp "$cmdfile" "$run/cmd"; fi

# Each share: a 9p device, mounted by dom0 at the same path, read-only.
virtfs="" envshares="" n=0
for s in $(printf '%s\n' $shares | awk '!seen[$0]++'); do
	n=$((n + 1))
	virtfs="$virtfs -virtfs local,path=$s,mount_tag=share$n,security_model=none,readonly=on"
	envshares="$envshares share$n=$s"
done
cwd=/
for s in $shares; do
	case "$PWD/" in "$s"/*) cwd=$PWD ;; esac
done
cat >"$run/lab.env" <<EOF
LAB_SHARES="$envshares"
LAB_CWD="$cwd"
EOF

xenargs="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 ${IVC_XEN_LAB_XEN_ARGS-spec-ctrl=eager-fpu}"
dom0args="console=hvc0 $quiet lab.gntalloc=$gnt lab.shell=$shell"
if [ $shell = 1 ]; then
	# the console on the terminal, multiplexed with QEMU's monitor, and logged
	chardev="-chardev stdio,id=con,mux=on,signal=off,logfile=$run/console.log -serial chardev:con -mon chardev=con"
	echo "run.sh: dom0 shell: Ctrl-a x quits QEMU; Ctrl-a a Ctrl-a a Ctrl-a a switches input Xen/dom0" >&2
else
	chardev="-chardev file,id=con,path=$run/console.log -serial chardev:con"
fi

lab() { # timeout(1) options
	# shellcheck disable=SC2086
	timeout "$@" -k 10 "$tmo" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
		-machine pc -accel tcg,thread=multi -cpu "${IVC_XEN_LAB_CPU:-max,-smap,-rdtscp}" -smp 2 -m "$mem" \
		-kernel "$IMG/xen" -append "$xenargs" \
		-initrd "$IMG/vmlinuz $dom0args,$IMG/dom0.cpio.gz" \
		$chardev \
		-virtfs "local,path=$run,mount_tag=host0,security_model=none" \
		$virtfs \
		2>"$run/qemu.log"
}
t0=$(date +%s.%N)
if [ $shell = 1 ]; then
	lab --foreground # in the foreground: it reads the terminal
	qrc=$?
else
	lab </dev/null &
	qpid=$!
	# stopping this script stops QEMU (timeout(1) passes the signal on)
	trap 'kill $qpid 2>/dev/null; exit 130' INT TERM HUP
	if [ $live = 1 ]; then
		tail -n +1 -s 0.2 -F --pid=$qpid "$run/output" 2>/dev/null &
		tpid=$!
	fi
	wait $qpid
	qrc=$?
	[ -n "${tpid:-}" ] && wait "$tpid"
fi
t1=$(date +%s.%N)

[ $live = 0 ] && [ -f "$run/output" ] && cat "$run/output"
rm -rf "$CACHE/last"
mv "$run" "$CACHE/last" && run=$CACHE/last
el=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
touch "$run/console.log"
ready=$(tr -d '\r' <"$run/console.log" | sed -n 's/.*lab: dom0 ready at \([0-9.]*\) s.*/\1/p' | head -n 1)
if [ -s "$run/rc" ]; then
	rc=$(cat "$run/rc")
	echo "run.sh: status $rc; lab up ${el} s (dom0 ready ${ready:-?} s after its kernel started)" >&2
else
	if [ $shell = 1 ] && [ $qrc != 124 ] && [ $qrc != 137 ]; then
		rc=$qrc # no command: the shell's end is the lab's
	elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
		echo "run.sh: hard timeout ($tmo s): QEMU killed" >&2
		rc=124
	else
		[ -s "$run/qemu.log" ] && cat "$run/qemu.log" >&2
		echo "run.sh: no exit status came back from dom0 (QEMU status $qrc)" >&2
		rc=125
	fi
fi
if [ "$rc" != 0 ] && [ $shell = 0 ]; then
	echo "run.sh: ---- dom0 console log ($run/console.log) ----" >&2
	tr -d '\r' <"$run/console.log" >&2
	echo "run.sh: ---- end of console log ----" >&2
fi
exit "$rc"
