#!/bin/sh
# `make check`: every test, in two builds.
#  1. gcc, -Werror: all suites; then make install into a scratch DESTDIR and
#     a program built against it with pkg-config.
#  2. clang, -Werror, ASan+UBSan: the core, sim, xenstore and api suites again,
#     and the fuzz smoke.
# Ends with one line `N passed, N failed[, N skipped]` over both.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
extra=""
logs=""

setup() { # dir, then meson options; reuses an existing build dir
	dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		mkdir -p "$(dirname "$dir")"
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; return 1; }
}

run_build() { # name, cc, test args..., -- meson options
	name=$1 cc=$2
	shift 2
	targs=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do targs="$targs $1"; shift; done
	[ $# -gt 0 ] && shift
	dir=build/check-$name
	echo "==> $name: configure and build ($cc)"
	if ! CC=$cc setup "$dir" "$@" || ! ninja -C "$dir"; then
		extra="$extra --extra build-$name=fail"
		return
	fi
	extra="$extra --extra build-$name=pass"
	echo "==> $name: test"
	rm -f "$dir/meson-logs/testlog.json"
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $targs
	logs="$logs $dir/meson-logs/testlog.json"
}

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

run_build gcc gcc -- -Dwerror=true
echo "==> gcc: install and build against the installed library"
if tests/scripts/check-install.sh build/check-gcc; then
	extra="$extra --extra install=pass"
else
	extra="$extra --extra install=fail"
fi
run_build clang-san clang --suite core --suite fuzz --suite sim --suite xenstore --suite api -- -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all

echo "==> summary"
# shellcheck disable=SC2086
exec python3 tests/scripts/summary.py $extra $logs
