#!/bin/sh
# Plots ivc-bench CSV: throughput against message size (libIVC and the
# stream baselines) and round-trip latency against size (libIVC, with the
# spinning and eventfd floors as lines).
# usage: plot.sh RESULTS.CSV OUT.PNG
set -eu
csv=$1
png=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
for t in ivc-msg ivc-stream memcpy ring unix pipe ivc-rtt; do
	awk -F, -v t="$t" '$1 == t { print $2, $3, $4, $5 }' "$csv" >"$d/$t.dat"
done
spin=$(awk -F, '$1 == "spin-rtt" { print $3 }' "$csv")
evfd=$(awk -F, '$1 == "eventfd-rtt" { print $3 }' "$csv")
# pngcairo where gnuplot has it, else the plain png terminal.
term=png
gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo && term=pngcairo
gnuplot <<GP
set terminal $term size 1200,500 noenhanced
set output "$png"
set multiplot layout 1,2
set logscale xy
set xlabel "message size (bytes)"
set grid
set ylabel "throughput (GB/s, median; bars: min..max)"
set title "Throughput"
set key right bottom
plot "$d/ivc-msg.dat" using 1:2:3:4 with yerrorlines title "libIVC message", \
     "$d/ivc-stream.dat" using 1:2:3:4 with yerrorlines title "libIVC stream", \
     "$d/memcpy.dat" using 1:2 with linespoints title "memcpy (1 thread)", \
     "$d/ring.dat" using 1:2 with linespoints title "plain shared ring", \
     "$d/unix.dat" using 1:2 with linespoints title "AF_UNIX stream", \
     "$d/pipe.dat" using 1:2 with linespoints title "pipe"
set ylabel "round trip (us, median)"
set title "Ping-pong latency"
set key left top
plot "$d/ivc-rtt.dat" using 1:2:3:4 with yerrorlines title "libIVC", \
     ${spin:-0} with lines title "spinning cache line", \
     ${evfd:-0} with lines title "eventfd round trip"
unset multiplot
GP
