#!/bin/sh
# Checks libIVC's manual pages (libIVC/man) and the tools' (sim/man,
# rendezvous/man, mkrenddir, dom0-tools, tests/bench, guest/man):
#  - every symbol of libIVC/libivc.map's global list has <symbol>.3, and
#    ivc.7 exists;
#  - every page's NAME line starts with the page's own name, but for link
#    pages (one line, ".so manN/page.N") that name a page that exists;
#  - libIVC/man/meson.build installs every page;
#  - no page makes man-db (`man --warnings`, as lintian runs it) or groff
#    (`groff -man -ww -z`) warn, with whichever of them is installed.
# Prints `ok - N man pages`; exit 1 listing the problems; exit 77 only when
# the pages are complete but neither man-db nor groff is there to lint them.
# usage: check-man.sh [TOP]   (TOP: the source tree, default ../.. of here)
set -u
top=${1:-$(dirname "$0")/../..}
map=$top/libIVC/libivc.map
dir=$top/libIVC/man
problems=""
nl='
'
problem() { problems="$problems$1$nl"; }

[ -f "$map" ] || { echo "FAIL: no $map"; exit 1; }
[ -d "$dir" ] || { echo "FAIL: no $dir"; exit 1; }

# The global list: the lines between "global:" and "local:", one symbol each.
symbols=$(sed -n '/^[[:space:]]*global:/,/^[[:space:]]*local:/p' "$map" |
	sed -e '/global:/d' -e '/local:/d' -e 's/[[:space:]]//g' -e 's/;.*//' -e '/^$/d')
[ -n "$symbols" ] || problem "no symbols found in the global list of $map"
for s in $symbols; do
	[ -f "$dir/$s.3" ] || problem "missing page: libIVC/man/$s.3 (exported by libivc.map)"
done
[ -f "$dir/ivc.7" ] || problem "missing page: libIVC/man/ivc.7"

# The tools' pages: one per program.
tooldirs="$top/sim/man $top/rendezvous/man $top/mkrenddir $top/dom0-tools $top/tests/bench $top/guest/man"
for t in ivc-sim.1 ivc-simd.8 ivc-xenstored.8 ivc-rendezvousd.8 ivc-rendezvous.policy.5 \
	mkrenddir.8 ivc.1 ivc-top.1 ivc-bench.1 ivc-guest.7 ivc-guest-cc.1; do
	[ -n "$(find $tooldirs -maxdepth 1 -name "$t" 2>/dev/null)" ] || problem "missing page: $t"
done
pages=$( (find "$dir" -maxdepth 1 -type f -name '*.[1-9]'
	find $tooldirs -maxdepth 1 -type f -name '*.[1-9]' 2>/dev/null) | sort)
# A link page's target ("man3/ivc_mon_open.3"), if it is one: a single
# .so line. man finds the target below its man root once installed.
link_target() {
	[ "$(wc -l <"$1")" -eq 1 ] && sed -n 's|^\.so \(man[1-9]/[^/[:space:]]*\)$|\1|p' "$1" | grep .
}
n=0
for p in $pages; do
	n=$((n + 1))
	f=${p##*/}
	name=${f%.*}
	# The first text line after .SH NAME: "name \- summary".
	line=$(sed -n '/^\.SH[[:space:]]*"\{0,1\}NAME"\{0,1\}[[:space:]]*$/,$p' "$p" |
		sed -e '1d' -e '/^[.'\'']/d' | sed -n '1p')
	first=$(printf '%s\n' "$line" | sed 's/[[:space:],].*//')
	if target=$(link_target "$p"); then
		[ -f "${p%/*}/${target#*/}" ] || problem "$f: .so names a missing page: $target"
	elif [ -z "$line" ]; then
		problem "$f: no NAME line"
	elif [ "$first" != "$name" ]; then
		problem "$f: NAME line names \"$first\", not \"$name\""
	else
		case $line in
		*'\-'*) ;;
		*) problem "$f: NAME line lacks \"\\-\" before the summary" ;;
		esac
	fi
	if [ "${p%/*}" = "$dir" ] && [ -f "$dir/meson.build" ] && ! grep -q "'$f'" "$dir/meson.build"; then
		problem "$f: not installed by libIVC/man/meson.build"
	fi
done
[ -f "$dir/meson.build" ] || problem "missing libIVC/man/meson.build"

# Linting: man-db's man (it has --warnings) and groff, where installed.
have_man=no
have_groff=no
if command -v man >/dev/null 2>&1 && man --help 2>&1 | grep -q -e '--warnings'; then
	have_man=yes
fi
command -v groff >/dev/null 2>&1 && have_groff=yes
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
for p in $pages; do
	f=${p##*/}
	link_target "$p" >/dev/null && continue # linted as its target
	if [ $have_man = yes ]; then
		LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
			man --warnings -E UTF-8 -l -Tutf8 -Z "$p" >/dev/null 2>"$tmp"
		if [ -s "$tmp" ]; then
			problem "$f: man --warnings:$nl$(sed 's/^/    /' "$tmp")"
		fi
	fi
	if [ $have_groff = yes ]; then
		LC_ALL=C.UTF-8 groff -man -ww -z "$p" 2>"$tmp"
		if [ -s "$tmp" ]; then
			problem "$f: groff -man -ww:$nl$(sed 's/^/    /' "$tmp")"
		fi
	fi
done

if [ -n "$problems" ]; then
	printf '%s' "$problems" | sed 's/^\([^ ]\)/FAIL: \1/'
	exit 1
fi
if [ $have_man = no ] && [ $have_groff = no ]; then
	echo "SKIP: $n man pages complete, but neither man-db nor groff is installed to lint them"
	exit 77
fi
echo "ok - $n man pages"
