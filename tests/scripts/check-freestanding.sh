#!/bin/sh
# Proves the ring core is freestanding: it compiles with no libc headers
# (only the compiler's own include dir), includes nothing beyond stdint,
# stddef, stdbool and stdatomic, and links into a static executable whose
# only outside symbol is memcpy.
set -eu
top=$1
core=$top/libIVC/core
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

bad=$(grep -hE '^[[:space:]]*#[[:space:]]*include' "$core/ring.c" "$core/ivc_core.h" \
	"$top/libIVC/include/ivc/wire.h" |
	grep -vE '<(stdint|stddef|stdbool|stdatomic)\.h>|"(ivc_core\.h|ivc/wire\.h)"' || true)
if [ -n "$bad" ]; then
	echo "FAIL: the core includes more than it may:"
	echo "$bad"
	fail=1
fi

cat >"$tmp/start.c" <<'C'
#include <stddef.h>
#include "ivc_core.h"
void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	unsigned char *dd = d;
	const unsigned char *ss = s;
	while (n--)
		*dd++ = *ss++;
	return d;
}
static struct ivc_core c;
void _start(void);
void _start(void)
{
	static unsigned char mem[8192] __attribute__((aligned(4096)));
	struct ivc_core_params p = {IVC_WIRE_MODE_MESSAGE, {12, 0}, {64, 0}, 0};
	(void)ivc_core_create(&c, mem, sizeof mem, &p, mem, NULL);
	for (;;)
		;
}
C

ran=0
for cc in gcc clang; do
	command -v "$cc" >/dev/null 2>&1 || continue
	ran=1
	inc=$("$cc" -print-file-name=include)
	flags="-std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -fno-builtin
	       -fno-stack-protector -nostdinc -isystem $inc -I$top/libIVC/include -I$core"
	# shellcheck disable=SC2086
	if ! "$cc" $flags -c "$core/ring.c" -o "$tmp/ring.o"; then
		echo "FAIL: $cc cannot compile the core freestanding"
		fail=1
		continue
	fi
	undef=$(nm -u "$tmp/ring.o" | awk '{print $2}' | grep -vx memcpy || true)
	if [ -n "$undef" ]; then
		echo "FAIL: $cc: the core needs symbols besides memcpy: $undef"
		fail=1
	fi
	# shellcheck disable=SC2086
	if ! "$cc" $flags -c "$tmp/start.c" -o "$tmp/start.o" ||
		! "$cc" -nostdlib -static -o "$tmp/core.elf" "$tmp/ring.o" "$tmp/start.o"; then
		echo "FAIL: $cc: freestanding link failed"
		fail=1
		continue
	fi
	echo "ok - $cc: core builds and links freestanding, needs only memcpy"
done
[ "$ran" = 1 ] || { echo "SKIP: no compiler"; exit 77; }
exit $fail
