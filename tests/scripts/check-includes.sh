#!/bin/sh
# libIVC/src/ must build in the guest unikernel unchanged. Two checks:
#  1. it includes only C standard headers, ivc.h, ivc/wire.h, the core,
#     the platform interface and its own internal.h;
#  2. compiled, it calls only ivc_* (the core, the platform) and C standard
#     library functions that a small freestanding libc provides (the list
#     below): no POSIX call (getpid, clock_gettime, strdup, poll...).
# XenStore, waiting, the clock and locking come from the platform.
# usage: check-includes.sh [TOP]
set -u
top=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
src=$top/libIVC/src
allowed=" $(echo assert.h errno.h inttypes.h limits.h stdarg.h stdbool.h stddef.h stdint.h \
	stdio.h stdlib.h string.h stdatomic.h ivc.h ivc/wire.h ivc_core.h platform.h internal.h) "
libc=" $(echo malloc calloc realloc free memcpy memmove memset memcmp strlen strcmp strncmp \
	strchr strrchr strspn strcspn strtoul strtol snprintf vsnprintf sscanf getenv abort \
	__stack_chk_fail __errno_location __isoc99_sscanf) "  # the last three: glibc names
bad=0
for f in "$src"/*.c "$src"/*.h; do
	name=${f##*/}
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f"); do
		case "$allowed" in *" $inc "*) continue ;; esac
		echo "not allowed: libIVC/src/$name includes <$inc> (platform code belongs in libIVC/platform/)"
		bad=1
	done
done

cc=${CC:-cc}
if command -v "$cc" >/dev/null && command -v nm >/dev/null; then
	tmp=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmp"' EXIT
	for f in "$src"/*.c; do
		o=$tmp/$(basename "$f" .c).o
		if ! "$cc" -std=c11 -O2 -c -I"$top/libIVC/include" -I"$top/libIVC/core" \
			-I"$top/libIVC/platform" -o "$o" "$f"; then
			echo "libIVC/src/${f##*/} does not compile as plain C11"
			bad=1
			continue
		fi
		for sym in $(nm -u "$o" | awk '{print $2}'); do
			# The GOT is the linker's (a PIE default taking a function's
			# address), not a call.
			case $sym in ivc_* | ivc__* | _GLOBAL_OFFSET_TABLE_) continue ;; esac
			case "$libc" in *" $sym "*) continue ;; esac
			echo "not allowed: libIVC/src/${f##*/} calls $sym (not in the guest's libc subset)"
			bad=1
		done
	done
else
	echo "# no compiler or nm: symbol check skipped"
fi
[ $bad = 0 ] && echo "ok - libIVC/src includes and calls only what a guest can build"
exit $bad
