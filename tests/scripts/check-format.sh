#!/bin/sh
# Fails when any C file in the tree differs from what .clang-format asks for.
set -eu
top=$1
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: clang-format not installed"; exit 77; }
cd "$top"
files=$(find libIVC sim rendezvous guest dom0-tools mkrenddir examples tests \
	-name '*.[ch]' -not -path '*/build/*' 2>/dev/null | sort)
if clang-format --dry-run --Werror $files; then
	echo "ok - $(echo "$files" | wc -l) C files formatted"
else
	echo "FAIL: run: clang-format -i \$(git ls-files '*.[ch]')"
	exit 1
fi
