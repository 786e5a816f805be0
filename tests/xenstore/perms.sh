#!/bin/sh
# Permissions with the real xenstore-* tools, run as domains 1 and 2 through their
# sockets, against a layout made like libxl makes it. Expectations follow C xenstored.
set -u
daemon=$1 tool=$2
here=$(dirname "$0")
for t in xenstore-read xenstore-write xenstore-chmod xenstore-ls xenstore-watch xenstore-rm; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed (xenstore-utils)"; exit 77; }
done
. "$here/lib.sh"
xsd_start "$daemon"

for d in 1 2; do
	"$tool" introduce $d || bad "introduce $d"
	xenstore-write /local/domain/$d/name guest$d
	xenstore-chmod /local/domain/$d n0 r$d
	xenstore-chmod /local/domain/$d/name n0 r$d
	xenstore-write /local/domain/$d/data ""
	xenstore-chmod /local/domain/$d/data n$d
done

# Own area: yes. Relative paths resolve under /local/domain/N.
[ "$(as 1 xenstore-read name)" = guest1 ] && ok "dom1 reads its name (relative)" || bad "dom1 name"
as 1 xenstore-write data/x hello && ok "dom1 writes data/x" || bad "dom1 write data/x"
[ "$(as 1 xenstore-read /local/domain/1/data/x)" = hello ] && ok "dom1 reads back" || bad "read back"
as 1 xenstore-write name other 2>/dev/null && bad "dom1 wrote its read-only name" || ok "name is read-only"
as 1 xenstore-write /local/domain/1/new v 2>/dev/null && bad "dom1 created in dom0's dir" ||
	ok "no create in a read-only dir"

# Inheritance: dom1 creates under its writable dir, so the new node is dom1's.
as 1 xenstore-write data/sub/leaf v
[ "$(xenstore-ls -p /local/domain/1/data | grep -c '(n1)')" -eq 3 ] &&
	ok "nodes created by dom1 are owned by dom1" || bad "ownership: $(xenstore-ls -p /local/domain/1/data)"

# The other domain's area: no, and the tools say so.
as 2 xenstore-read /local/domain/1/data/x 2>/dev/null && bad "dom2 read dom1's node" || ok "dom2 cannot read dom1's node"
as 2 xenstore-write /local/domain/1/data/x bad 2>/dev/null && bad "dom2 wrote dom1's node" || ok "dom2 cannot write dom1's node"
msg=$(as 2 xenstore-ls /local/domain/1 2>&1)
case $msg in *"Permission denied"*) ok "xenstore-ls says Permission denied" ;; *) bad "ls: $msg" ;; esac
as 2 xenstore-rm /local/domain/1/data/x 2>/dev/null && bad "dom2 removed dom1's node" || ok "dom2 cannot rm"
as 2 xenstore-chmod /local/domain/1/data/x n2 2>/dev/null && bad "dom2 chmod'ed dom1's node" || ok "dom2 cannot chmod"
as 2 xenstore-read /local/domain/1/data/nope 2>/dev/null && bad "leak" || ok "no ENOENT leak"

# A watch on a node dom2 cannot read delivers nothing to dom2.
as 2 timeout 3 xenstore-watch -n 2 /local/domain/1/data/x >"$xsd_dir/w1" 2>&1 &
wpid=$!
sleep 0.5
as 1 xenstore-write data/x secret2
wait $wpid
[ "$(grep -c . "$xsd_dir/w1")" -eq 1 ] && ok "no event for an unreadable node" ||
	bad "events: $(cat "$xsd_dir/w1")"

# Owner grants read: readable, still not writable; the watch now fires.
as 1 xenstore-chmod data/x n1 r2 && ok "owner chmods" || bad "owner chmod"
as 2 timeout 3 xenstore-watch -n 2 /local/domain/1/data/x >"$xsd_dir/w2" 2>&1 &
wpid=$!
sleep 0.5
as 1 xenstore-write data/x shared
wait $wpid
[ "$(grep -c . "$xsd_dir/w2")" -eq 2 ] && ok "event once readable" || bad "events: $(cat "$xsd_dir/w2")"
[ "$(as 2 xenstore-read /local/domain/1/data/x)" = shared ] && ok "dom2 reads granted node" || bad "granted read"
as 2 xenstore-write /local/domain/1/data/x no 2>/dev/null && bad "r grant allowed write" || ok "r grant is read-only"
as 1 xenstore-chmod data/x n2 2>/dev/null && bad "dom1 gave its node away" || ok "a guest cannot change the owner"

# dom0 reads everything; dom2 still cannot list dom1's dir.
[ "$(xenstore-read /local/domain/1/data/sub/leaf)" = v ] && ok "dom0 reads all" || bad "dom0 read"
xenstore-ls /local/domain >/dev/null && ok "dom0 lists all" || bad "dom0 ls"
as 1 xenstore-ls /local/domain/1 >/dev/null && ok "dom1 lists its home" || bad "dom1 ls"

# A dom0 node open to all for writing: guests create there and own what they create.
xenstore-write /pub ""
xenstore-chmod /pub b0
as 2 xenstore-write /pub/from2 v && ok "dom2 writes under b0" || bad "b0 write"
xenstore-ls -p /pub | grep -q 'from2 = "v".*(b2)' && ok "inherited b0 with dom2 as owner" ||
	bad "perms: $(xenstore-ls -p /pub)"

exit $fails
