# Shared by the shell tests: start ivc-xenstored in a fresh directory, stop it at exit
# and fail unless it exited 0 on SIGTERM.
xsd_start() { # daemon [options...]
	xsd_dir=$(mktemp -d "${TMPDIR:-/tmp}/ivc-xsd-sh.XXXXXX")
	"$@" --dir "$xsd_dir" --ready-fd 3 3>"$xsd_dir/ready" &
	xsd_pid=$!
	trap xsd_cleanup EXIT
	# dash runs the EXIT trap on exit only: a signal must exit too.
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	i=0
	while [ ! -s "$xsd_dir/ready" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "not ok - daemon did not start"; exit 1; }
		kill -0 $xsd_pid 2>/dev/null || { echo "not ok - daemon died"; exit 1; }
		sleep 0.05
	done
	export XENSTORED_PATH=$xsd_dir/xs/dom0.sock
}

xsd_cleanup() {
	rc=$?
	if [ -n "${xsd_pid:-}" ]; then
		kill -TERM $xsd_pid 2>/dev/null
		wait $xsd_pid
		st=$?
		if [ $st -ne 0 ]; then
			echo "not ok - daemon exit status $st"
			[ $rc -eq 0 ] && rc=1
		fi
	fi
	rm -rf "$xsd_dir"
	exit $rc
}

fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
# as DOMID cmd...: runs a tool as that domain
as() {
	d=$1
	shift
	XENSTORED_PATH=$xsd_dir/xs/dom$d.sock "$@"
}
