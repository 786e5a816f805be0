#!/bin/sh
# The guest runtime, the guest platform and every libIVC source it runs,
# compiled as a guest by the compiler the build did not use (gcc builds
# the guest in make check; the clang build has sanitizers and no guest):
# both must take them with -Wall -Wextra -Werror. Nothing is linked.
# usage: check-guest-cc.sh TOP CC   (exit 77 if CC is missing or not x86-64)
set -u
top=$1
cc=$2
command -v "$cc" >/dev/null || { echo "SKIP: no $cc"; exit 77; }
case $("$cc" -dumpmachine 2>/dev/null) in x86_64*) ;; *) echo "SKIP: not x86-64"; exit 77 ;; esac
[ -f /usr/include/xen/xen.h ] || { echo "SKIP: Xen's headers (libxen-dev) missing"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
n=0
for f in "$top"/guest/lib/*.c "$top"/libIVC/platform/guest/guest.c "$top"/libIVC/src/*.c \
	"$top"/libIVC/core/ring.c "$top"/examples/echo-server.c "$top"/examples/echo-client.c \
	"$top"/examples/echo-stage.c "$top"/examples/guest-hello.c "$top"/tests/guest/*.c; do
	n=$((n + 1))
	"$cc" -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		-Wpointer-arith -Wvla -Wformat=2 -ffreestanding -fno-builtin -fno-pic -fno-pie \
		-mno-red-zone -fno-stack-protector -mgeneral-regs-only \
		-fno-asynchronous-unwind-tables -D__XEN_INTERFACE_VERSION__=0x00040e00 \
		-I"$top/guest/include" -I"$top/guest/lib" -I"$top/libIVC/include" \
		-I"$top/libIVC/core" -I"$top/libIVC/platform" -I"$top/libIVC/src" \
		-c "$f" -o "$out/o.o" || { echo "FAIL: $f"; fail=1; }
done
"$cc" -c "$top/guest/arch/x86_64/boot.S" -o "$out/o.o" || { echo "FAIL: boot.S"; fail=1; }
[ $fail = 0 ] && echo "ok - $n guest sources and boot.S compile with $cc"
exit $fail
