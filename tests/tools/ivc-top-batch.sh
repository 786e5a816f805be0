#!/bin/sh
# ivc-top(1) for scripts: -b (text) and --json against a sim host, with an
# echo pair moving data, in both rendezvous modes (direct; brokered with
# mkrenddir and ivc-rendezvousd in dom0). Checks what the tables say (the
# channel, its ends, its state, counters and rates that move, totals that
# are the sum of the lines), that a hostile domain name neither splits a
# column nor reaches the terminal, and the exit statuses: 1 in a domU or
# without a host, 64 for a bad command line.
# usage: ivc-top-batch.sh BUILD_DIR
set -u
BUILD=${1:?usage: ivc-top-batch.sh BUILD_DIR}
SIM=$BUILD/sim/ivc-sim
TOP=$BUILD/dom0-tools/ivc-top
SERVER=$BUILD/examples/echo-server
CLIENT=$BUILD/examples/echo-client
RDVD=$BUILD/rendezvous/ivc-rendezvousd
MKRD=$BUILD/mkrenddir/mkrenddir
for f in "$SIM" "$TOP" "$SERVER" "$CLIENT" "$RDVD" "$MKRD"; do
	[ -x "$f" ] || { echo "SKIP: $f not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
command -v xenstore-read >/dev/null || { echo "SKIP: xenstore-utils needed"; exit 77; }
. "$(dirname "$0")/../lib/sim-lib.sh"
. "$(dirname "$0")/../lib/broker-lib.sh"
OUT=$IVC_SIM_DIR/out
mkdir -p "$OUT"
# The client's domain name: a quote, a backslash, a tab, a space and an
# escape sequence, as a hostile toolstack entry could hold.
EVIL=$(printf 'ev"il\\\tna me\033[31m')

# ivc-top as dom0, bounded like every test domain.
top0() { dom 0 "$TOP" "$@"; }

# py NAME FILE [ARGS]: runs check NAME of the Python below on FILE; it
# prints why when it fails.
py() {
	SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd) python3 - "$@" <<'EOF'
import json, math, os, sys

what, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
SCHEMA = os.path.join(os.environ["SRC_DIR"], "docs/schema/ivc-mon.schema.json")

def fail(msg):
    print("# " + msg)
    sys.exit(1)

# -b text: iterations of (header, titles, rows).
def text_iters():
    iters = []
    for line in open(path, encoding="utf-8", errors="strict"):
        f = line.split()
        if f and f[0] == "ivc-top":
            head = dict(zip(f[1::2], f[2::2]))
            iters.append([head, None, []])
        elif iters and iters[-1][1] is None:
            iters[-1][1] = f
        elif iters:
            if len(f) != len(iters[-1][1]):
                fail("a row of %d fields under %d titles: %r" % (len(f), len(iters[-1][1]), line))
            iters[-1][2].append(dict(zip(iters[-1][1], f)))
    return iters

def num(v):
    return 0.0 if v in ("-", "?") else float(v)

def echo_rows(rows):
    return [r for r in rows if r["SERVICE"] == "echo"]

def check_text(mode, client_name):
    it = text_iters()
    if len(it) != 3:
        fail("%d iterations, not 3" % len(it))
    moved = False
    for i, (head, titles, rows) in enumerate(it):
        e = echo_rows(rows)
        if len(e) != 1:
            fail("iteration %d: %d echo channels, not 1" % (i + 1, len(e)))
        r = e[0]
        want = {"LDOM": "1", "CDOM": "2", "STATE": "open", "LNAME": "dom1", "RDV": mode,
                "TYPE": "org.libivc.echo", "VER": "1", "MODE": "msg", "DIR": "inout"}
        for k, v in want.items():
            if r[k] != v:
                fail("iteration %d: %s is %r, not %r" % (i + 1, k, r[k], v))
        if r["CNAME"] not in (client_name, "-"):
            fail("iteration %d: CNAME is %r, not %r" % (i + 1, r["CNAME"], client_name))
        if "c" not in r["FLG"] or "t" not in r["FLG"]:
            fail("iteration %d: flags %r lack c or t" % (i + 1, r["FLG"]))
        if i == 0 and (r["B/S>C"] != "-" or r["MSG/S>L"] != "-"):
            fail("first sight shows rates: %r %r" % (r["B/S>C"], r["MSG/S>L"]))
        if i > 0 and num(r["B/S>C"]) > 0 and num(r["B/S>L"]) > 0 and num(r["MSG/S>C"]) > 0:
            moved = True
        if int(head["channels"]) != len(rows):
            fail("iteration %d: header says %s channels, %d lines" % (i + 1, head["channels"], len(rows)))
        for key, cols in (("bytes", ("BYTES>C", "BYTES>L")), ("msgs", ("MSGS>C", "MSGS>L"))):
            total = sum(int(num(x[c])) for x in rows for c in cols)
            if int(head[key]) != total:
                fail("iteration %d: total %s %s, lines sum to %d" % (i + 1, key, head[key], total))
        for key, cols in (("bytes/s", ("B/S>C", "B/S>L")), ("msgs/s", ("MSG/S>C", "MSG/S>L")),
                          ("notifies/s", ("NTF/S",))):
            total = sum(num(x[c]) for x in rows for c in cols)
            if abs(float(head[key]) - total) > 0.05 * (len(rows) * len(cols) + 1):
                fail("iteration %d: total %s %s, lines sum to %.1f" % (i + 1, key, head[key], total))
        if int(head["domains"]) < 3:
            fail("iteration %d: %s domains" % (i + 1, head["domains"]))
    b = [int(echo_rows(x[2])[0]["BYTES>C"]) for x in it]
    if not b[0] < b[1] < b[2]:
        fail("bytes to the client did not grow: %r" % b)
    if not moved:
        fail("no rate above 0 in iterations 2 and 3")
    print("# bytes to the client by iteration: %r; rates %s, %s" %
          (b, echo_rows(it[2][2])[0]["B/S>C"], echo_rows(it[2][2])[0]["MSG/S>C"]))

CHAN_KEYS = ["id", "flags", "brokered", "counters", "typed", "listener", "client", "service",
             "type", "version", "mode", "dir", "state", "state_code", "ring", "used", "msgs",
             "bytes", "notifies", "created", "age_s", "msgs_per_s", "bytes_per_s",
             "notifies_per_s"]

def check_json(mode, client_name):
    docs = [json.loads(l) for l in open(path, encoding="utf-8")]
    if len(docs) != 2:
        fail("%d documents, not 2" % len(docs))
    try:  # the schema shared with ivc ls --json
        import jsonschema
        schema = json.load(open(SCHEMA))
        for d in docs:
            jsonschema.validate(d, schema)
    except ImportError:
        pass
    got = []
    for i, d in enumerate(docs):
        for k in ("version", "platform", "time_ms", "wall_ms", "interval_s", "totals",
                  "domains", "services", "channels"):
            if k not in d:
                fail("document %d lacks %s" % (i + 1, k))
        e = [c for c in d["channels"] if c["service"] == "echo"]
        if len(e) != 1:
            fail("document %d: %d echo channels" % (i + 1, len(e)))
        c = e[0]
        missing = [k for k in CHAN_KEYS if k not in c]
        if missing:
            fail("document %d: channel lacks %s" % (i + 1, missing))
        want = {"listener": 1, "client": 2, "state": "open", "type": "org.libivc.echo",
                "version": 1, "mode": "message", "dir": "inout", "counters": True,
                "typed": True, "brokered": mode == "brokered"}
        for k, v in want.items():
            if c[k] != v:
                fail("document %d: %s is %r, not %r" % (i + 1, k, c[k], v))
        if i == 0 and c["bytes_per_s"] != [None, None]:
            fail("first sight has rates: %r" % c["bytes_per_s"])
        if i == 1 and not all(x is not None and x > 0 for x in c["bytes_per_s"]):
            fail("document 2: bytes_per_s %r" % c["bytes_per_s"])
        if not (c["ring"][0] > 0 and c["ring"][1] > 0 and 0 <= c["used"][0] <= c["ring"][0]):
            fail("document %d: ring %r used %r" % (i + 1, c["ring"], c["used"]))
        t = d["totals"]
        s = sum(sum(x["bytes"]) for x in d["channels"] if x["bytes"] is not None)
        if t["bytes"] != s or t["channels"] != len(d["channels"]):
            fail("document %d: totals %r, channels sum to %d bytes" % (i + 1, t, s))
        doms = {x["domid"]: x for x in d["domains"]}
        # The library may pass the name on, or replace what is not printable.
        clean = "".join(ch if " " <= ch <= "~" else "?" for ch in client_name)
        if doms.get(1, {}).get("name") != "dom1" or doms.get(2, {}).get("name") not in (client_name, clean):
            fail("document %d: domain names %r %r" % (i + 1, doms.get(1), doms.get(2)))
        if doms[2]["channels_as_client"] < 1 or doms[1]["channels_as_listener"] < 1:
            fail("document %d: domain counts %r %r" % (i + 1, doms[1], doms[2]))
        sv = [x for x in d["services"] if x["name"] == "echo"]
        if len(sv) != 1 or sv[0]["domid"] != 1 or sv[0]["channels"] != 1:
            fail("document %d: services %r" % (i + 1, d["services"]))
        got.append(sum(c["bytes"]))
    if got[1] < got[0]:
        fail("bytes went back: %r" % got)
    print("# bytes by document: %r; dom2's name as JSON gives it: %r" % (got, doms[2]["name"]))

def rows_of(service):
    it = text_iters()
    return sum(len([r for r in x[2] if r["SERVICE"] == service]) for x in it), len(it)

if what == "text":
    check_text(args[0], args[1])
elif what == "json":
    check_json(args[0], args[1])
elif what == "rows":  # SERVICE COUNT: COUNT rows of SERVICE in all, one iteration
    n, iters = rows_of(args[0])
    if n != int(args[1]) or iters != 1:
        fail("%d rows of %s in %d iterations" % (n, args[0], iters))
elif what == "plain":  # nothing but printable ASCII and newlines
    data = open(path, "rb").read()
    bad = [b for b in data if b != 10 and not 32 <= b < 127]
    if bad or not data:
        fail("%d bytes, %d of them not printable: %r" % (len(data), len(bad), bad[:8]))
EOF
}

run_mode() { # direct | brokered
	m=$1
	sim_start >/dev/null || { bad "$m: host start"; return; }
	if [ "$m" = brokered ]; then
		dom 0 "$MKRD" -q || bad "$m: mkrenddir"
		rdvd_start || bad "$m: daemon start"
	fi
	dom 1 "$SERVER" --clients 1 >"$OUT/server" 2>&1 &
	s=$!
	wait_for "$OUT/server" serving || bad "$m: echo-server serves"
	# Traffic for the whole test (about 10k round trips/s in sim: minutes'
	# worth); the client is killed at the end.
	IVC_TEST_LIMIT_S=$LIMIT timeout --foreground -k 5 $((LIMIT + 5)) \
		"$SIM" run --domid 2 --name "$EVIL" -- "$CLIENT" 1 --count 2000000 \
		>"$OUT/client" 2>&1 &
	c=$!
	wait_for "$OUT/server" connected || bad "$m: echo-client connects"

	top0 -b -n 3 -d 0.5 >"$OUT/text" 2>"$OUT/text.err"
	r=$?
	check "$m: ivc-top -b -n 3 -d 0.5 ($(status_text $r))" [ $r = 0 ]
	check "$m: -b: the echo channel, its ends and state; counters and rates move; totals add up" \
		py text "$OUT/text" "$m" "$(printf %s "$EVIL" | tr ' ' _ | tr -c '\041-\176' '?')"
	check "$m: -b: printable ASCII only (the hostile name sanitised)" py plain "$OUT/text"
	check "$m: -b: nothing on stderr" [ ! -s "$OUT/text.err" ]

	top0 --json -n 2 -d 0.5 >"$OUT/json" 2>"$OUT/json.err"
	r=$?
	check "$m: ivc-top --json -n 2 ($(status_text $r))" [ $r = 0 ]
	check "$m: --json: every line parses; every channel field; bytes do not go back" \
		py json "$OUT/json" "$m" "$EVIL"

	dom 3 "$TOP" -b -n 1 >"$OUT/domu" 2>&1
	r=$?
	check "$m: in a domU: exit 1 ($(status_text $r))" [ $r = 1 ]
	check "$m: in a domU: the message names dom0 and the permission" \
		grep -q "ivc-top: monitoring needs dom0: Permission denied" "$OUT/domu"

	"$SIM" kill 2 >/dev/null 2>&1
	wait $c
	wait $s
	check "$m: echo-server saw its client go" grep -q "client dom2 .* after" "$OUT/server"
	# ivc-top ran in dom0: whatever it mapped to read the rings is gone too.
	# (In brokered mode the daemon lets go of the listener's liveness port
	# when it sees the listener gone, a moment later.)
	check "$m: nothing left on the host after ivc-top" eventually clean
	"$SIM" stop >/dev/null 2>&1
	rm -f "$OUT"/*
}

# The command line, without a host.
"$TOP" --no-such-option >/dev/null 2>&1
check "a bad option: exit 64" [ $? = 64 ]
"$TOP" -b -d fast >/dev/null 2>&1
check "-d fast: exit 64" [ $? = 64 ]
"$TOP" -b -n 0 >/dev/null 2>&1
check "-n 0: exit 64" [ $? = 64 ]
"$TOP" -b -s nosuch >/dev/null 2>&1
check "-s nosuch: exit 64" [ $? = 64 ]
"$TOP" -b extra >/dev/null 2>&1
check "an operand: exit 64" [ $? = 64 ]
"$TOP" --help | grep -q -e "--json"
check "--help prints the options, exit 0" [ $? = 0 ]
"$TOP" --version | grep -q "^ivc-top"
check "--version, exit 0" [ $? = 0 ]
IVC_PLATFORM=sim "$TOP" -b -n 1 >"$OUT/nohost" 2>&1
r=$?
check "no host to talk to: exit 1 ($(status_text $r))" [ $r = 1 ]
check "no host to talk to: says there is no XenStore" grep -q "ivc-top: no XenStore" "$OUT/nohost"

run_mode direct

# Filters, a terminal that does not exist (batch mode never touches it),
# then both modes.
sim_start >/dev/null || bad "host start"
dom 1 "$SERVER" --clients 1 >"$OUT/server" 2>&1 &
s=$!
wait_for "$OUT/server" serving
dom 2 "$CLIENT" 1 --count 2000000 >"$OUT/client" 2>&1 &
c=$!
wait_for "$OUT/server" connected
TERM=no-such-terminal top0 -b -n 1 -f ech >"$OUT/f1" 2>&1
check "-f ech: the echo channel (and TERM unused)" py rows "$OUT/f1" echo 1
top0 -b -n 1 -f nosuch >"$OUT/f2" 2>&1
check "-f nosuch: no channel" py rows "$OUT/f2" echo 0
top0 -b -n 1 -f =2 >"$OUT/f3" 2>&1
check "-f =2: the channel of domain 2" py rows "$OUT/f3" echo 1
top0 -b -n 1 -f =5 >"$OUT/f4" 2>&1
check "-f =5: no channel" py rows "$OUT/f4" echo 0
"$SIM" kill 2 >/dev/null 2>&1
wait $c
wait $s
"$SIM" stop >/dev/null 2>&1
rm -f "$OUT"/*

run_mode brokered
finish
