#!/usr/bin/env bats
# mkrenddir(8) against a sim host: the tree it creates (exact permissions),
# --check, --repair, --remove [--force], a guest's refusal, no XenStore, and
# the exit statuses 0, 1, 2 and 64.
#
# usage: bats tests/mkrenddir/mkrenddir.bats
#        BUILD=/path/to/build bats tests/mkrenddir/mkrenddir.bats
# BUILD: the Meson build directory (default: build/default of the source
# tree this file is in). Needs xenstore-utils (xenstore-ls and friends).
#
# One host for the whole file, owned by the bats process that runs
# setup_file: if bats dies, the host stops itself. Every test starts
# without /rendezvous.

setup_file() {
	SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	BUILD=${BUILD:-$SRC/build/default}
	export SRC BUILD
	for f in mkrenddir/mkrenddir sim/ivc-sim sim/ivc-simd sim/xenstored/ivc-xenstored; do
		[ -x "$BUILD/$f" ] || {
			echo "no $BUILD/$f: build first (ninja -C $BUILD)" >&2
			return 1
		}
	done
	for t in xenstore-ls xenstore-read xenstore-write xenstore-chmod xenstore-rm xenstore-exists; do
		command -v "$t" >/dev/null || skip "$t not installed (apt-get install xenstore-utils)"
	done
	PATH=$BUILD/mkrenddir:$BUILD/sim:$BUILD/sim/xenstored:$PATH
	IVC_SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ivc-mkrenddir.XXXXXX")
	IVC_SIM_OWNER=$$
	export PATH IVC_SIM_DIR IVC_SIM_OWNER
	ivc-sim start >/dev/null
}

teardown_file() {
	ivc-sim stop >/dev/null 2>&1
	if [ -n "${IVC_SIM_DIR:-}" ]; then rm -rf "$IVC_SIM_DIR"; fi
}

setup() {
	dom0 xenstore-rm /rendezvous 2>/dev/null || true
	if dom0 xenstore-exists /rendezvous; then
		echo "setup: /rendezvous is still there" >&2
		return 1
	fi
}

# dom DOMID CMD ARGS...: CMD as domain DOMID, for at most 60 seconds.
dom() {
	local d=$1
	shift
	timeout --foreground -k 5 60 ivc-sim run --domid "$d" -- "$@"
}
dom0() { dom 0 "$@"; }
guest() { dom 5 "$@"; }

# The /rendezvous subtree with its permissions, one node a line, indented
# by depth, the dots of xenstore-ls -p squeezed out:
#   rendezvous = "" (n0)
#    protocol = "1" (r0)
# Nothing if there is no /rendezvous.
tree() {
	dom0 xenstore-ls -p / |
		awk '/^[^ ]/ { in_tree = ($1 == "rendezvous") } in_tree' |
		sed -E 's/ [. ]+\(/ (/'
}

# What mkrenddir makes, exactly (spec 9.11.1).
fresh_tree='rendezvous = "" (n0)
 protocol = "1" (r0)'

expect_status() {
	if [ "$status" -ne "$1" ]; then
		echo "exit status $status, expected $1; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

expect_output() { # substring
	case $output in
	*"$1"*) ;;
	*)
		echo "expected in the output: $1" >&2
		echo "output: $output" >&2
		return 1
		;;
	esac
}

expect_tree() { # the exact tree
	local have
	have=$(tree)
	if [ "$have" != "$1" ]; then
		echo "tree:" >&2
		echo "$have" >&2
		echo "expected:" >&2
		echo "$1" >&2
		return 1
	fi
}

# A tree as the daemon leaves it: mkrenddir's, a daemon marker and the
# area of domain 5 (9.11.1).
daemon_tree() {
	dom0 mkrenddir -q
	dom0 sh -e -c '
		xenstore-write /rendezvous/daemon 4242
		xenstore-chmod /rendezvous/daemon r0
		xenstore-write /rendezvous/5 "" /rendezvous/5/req "" /rendezvous/5/ans "" /rendezvous/5/chan ""
		xenstore-chmod /rendezvous/5 n0 r5
		xenstore-chmod /rendezvous/5/req n0 b5
		xenstore-chmod /rendezvous/5/ans n0 r5
		xenstore-chmod /rendezvous/5/chan n0 r5'
}

full_tree='rendezvous = "" (n0)
 protocol = "1" (r0)
 daemon = "4242" (r0)
 5 = "" (n0,r5)
  req = "" (n0,b5)
  ans = "" (n0,r5)
  chan = "" (n0,r5)'

@test "creates /rendezvous with exactly the permissions of the spec" {
	run dom0 mkrenddir
	expect_status 0
	expect_output "created /rendezvous"
	expect_tree "$fresh_tree"
}

@test "-q prints nothing when it creates the tree" {
	run dom0 mkrenddir -q
	expect_status 0
	[ -z "$output" ] || { echo "output: $output" >&2; return 1; }
	expect_tree "$fresh_tree"
}

@test "a second run changes nothing and exits 0" {
	dom0 mkrenddir -q
	before=$(tree)
	run dom0 mkrenddir
	expect_status 0
	expect_output "/rendezvous exists and is fine"
	expect_tree "$before"
	# A tree with the daemon's nodes is as fine, and left as it is.
	daemon_tree
	run dom0 mkrenddir
	expect_status 0
	expect_tree "$full_tree"
}

@test "--check on a fine tree exits 0" {
	dom0 mkrenddir -q
	run dom0 mkrenddir --check
	expect_status 0
	expect_output "/rendezvous: fine"
	daemon_tree
	run dom0 mkrenddir --check
	expect_status 0
	expect_output "/rendezvous: fine"
}

@test "--check on a missing tree exits 1 and says so" {
	run dom0 mkrenddir --check
	expect_status 1
	expect_output "/rendezvous: missing (run mkrenddir)"
	run dom0 xenstore-exists /rendezvous
	expect_status 1
}

@test "--check reports each wrong permission, and only those" {
	dom0 mkrenddir -q
	dom0 xenstore-chmod /rendezvous r0
	dom0 xenstore-chmod /rendezvous/protocol b0
	run dom0 mkrenddir --check
	expect_status 1
	expect_output "mkrenddir: /rendezvous: permissions are r0, should be n0"
	expect_output "mkrenddir: /rendezvous/protocol: permissions are b0, should be r0"
	n=$(printf '%s\n' "$output" | grep -c '^mkrenddir: ')
	[ "$n" -eq 2 ] || { echo "$n messages, expected 2: $output" >&2; return 1; }
}

@test "--check reports a wrong area, a wrong protocol and a stray node" {
	daemon_tree
	dom0 xenstore-chmod /rendezvous/5/req n0 r5
	dom0 xenstore-chmod /rendezvous/daemon b0
	dom0 xenstore-write /rendezvous/protocol 2 /rendezvous/junk x
	run dom0 mkrenddir --check
	expect_status 1
	expect_output "/rendezvous/5/req: permissions are n0,r5, should be n0,b5"
	expect_output "/rendezvous/daemon: permissions are b0, should be r0"
	expect_output '/rendezvous/protocol is "2", should be "1"'
	expect_output "/rendezvous/junk: unexpected node"
	n=$(printf '%s\n' "$output" | grep -c '^mkrenddir: ')
	[ "$n" -eq 4 ] || { echo "$n messages, expected 4: $output" >&2; return 1; }
}

@test "plain mkrenddir on a wrong tree exits 1 and changes nothing" {
	daemon_tree
	dom0 xenstore-chmod /rendezvous r0
	dom0 xenstore-chmod /rendezvous/protocol b0
	dom0 xenstore-chmod /rendezvous/5/chan n0 b5
	before=$(tree)
	run dom0 mkrenddir
	expect_status 1
	expect_output "/rendezvous: permissions are r0, should be n0"
	expect_output "mkrenddir --repair fixes the permissions"
	expect_tree "$before"
}

@test "plain mkrenddir leaves the domains' areas to the daemon" {
	daemon_tree
	# A guest may remove its own req/ (the daemon makes it again): that
	# must not stop mkrenddir, run before the daemon starts (systemd).
	dom0 xenstore-rm /rendezvous/5/req
	run dom0 mkrenddir
	expect_status 0
	run dom0 mkrenddir --check
	expect_status 1
	expect_output "/rendezvous/5/req"
}

@test "--repair fixes the permissions; --check then exits 0" {
	daemon_tree
	dom0 xenstore-chmod /rendezvous r0
	dom0 xenstore-chmod /rendezvous/protocol b0
	dom0 xenstore-chmod /rendezvous/daemon n0
	dom0 xenstore-chmod /rendezvous/5 n0 b5
	dom0 xenstore-chmod /rendezvous/5/req n0 r5
	run dom0 mkrenddir --repair
	expect_status 0
	expect_output "repaired /rendezvous"
	expect_output "repaired /rendezvous/protocol"
	expect_output "repaired /rendezvous/daemon"
	expect_output "repaired /rendezvous/5"
	expect_output "repaired /rendezvous/5/req"
	expect_tree "$full_tree"
	run dom0 mkrenddir --check
	expect_status 0
}

@test "--repair puts back a missing protocol node" {
	dom0 mkrenddir -q
	dom0 xenstore-rm /rendezvous/protocol
	run dom0 mkrenddir --check
	expect_status 1
	expect_output "/rendezvous/protocol: missing"
	run dom0 mkrenddir --repair
	expect_status 0
	expect_output "repaired /rendezvous/protocol"
	expect_tree "$fresh_tree"
}

@test "a guest cannot create the tree: exit 2, permission denied" {
	run guest mkrenddir
	expect_status 2
	expect_output "permission denied"
	run dom0 xenstore-exists /rendezvous
	expect_status 1
}

@test "a guest cannot touch an existing tree: exit 2, permission denied" {
	dom0 mkrenddir -q
	run guest mkrenddir --repair
	expect_status 2
	expect_output "permission denied"
	run guest mkrenddir --remove
	expect_status 2
	expect_output "permission denied"
	expect_tree "$fresh_tree"
}

@test "a guest's --check exits 2 (it cannot read the tree)" {
	dom0 mkrenddir -q
	run guest mkrenddir --check
	expect_status 2
	expect_output "permission denied"
}

@test "--remove removes the tree" {
	daemon_tree
	dom0 xenstore-rm /rendezvous/daemon
	run dom0 mkrenddir --remove
	expect_status 0
	expect_output "removed /rendezvous"
	run dom0 xenstore-exists /rendezvous
	expect_status 1
}

@test "--remove refuses while the daemon runs, unless --force" {
	daemon_tree
	run dom0 mkrenddir --remove
	expect_status 2
	expect_output "the rendezvous daemon (pid 4242) is running"
	expect_tree "$full_tree"
	run dom0 mkrenddir --remove --force
	expect_status 0
	expect_output "removed /rendezvous"
	run dom0 xenstore-exists /rendezvous
	expect_status 1
}

@test "no XenStore: exit 2, cannot reach XenStore" {
	run env XENSTORED_PATH="$BATS_TEST_TMPDIR/no-such-socket" mkrenddir
	expect_status 2
	expect_output "mkrenddir: cannot reach XenStore"
	run env XENSTORED_PATH="$BATS_TEST_TMPDIR/no-such-socket" mkrenddir --check
	expect_status 2
	expect_output "mkrenddir: cannot reach XenStore"
}

@test "bad usage exits 64 and touches nothing" {
	for args in "--force" "--check --repair" "--check --remove" "--repair --remove" \
		"extra" "--bogus" "--check --force"; do
		# shellcheck disable=SC2086 # one word per option
		run dom0 mkrenddir $args
		expect_status 64
		expect_output "usage: mkrenddir"
	done
	run dom0 xenstore-exists /rendezvous
	expect_status 1
	run dom0 mkrenddir --help
	expect_status 0
	expect_output "usage: mkrenddir"
}
