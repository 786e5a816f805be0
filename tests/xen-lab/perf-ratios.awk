# Ratios of the lab's performance rows (checks.sh, section 9) for one size
# (-v s=SIZE): in each round libIVC against libxenvchan, then the median,
# lowest and highest over the rounds. Input: "ROUND test,size,median,...".
# Throughput: ivc-msg and ivc-stream against vchan-msg (higher is better
# for libIVC); round trip: ivc-rtt against vchan-rtt (lower is better).
# Each ratio also says in how many rounds libIVC was ahead. Rounds of
# several boots pool when numbered apart (xen-perf.sh).
{
	split($2, f, ",")
	if (f[2] != s || $1 == 0)
		next
	v[$1, f[1]] = f[3]
	if ($1 > nr)
		nr = $1
}

function med(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# "1.23x (0.98x - 1.40x, ahead in 7 of 9)" over the rounds that have both
# rows; libIVC is ahead where the ratio is above 1 (lower: below 1)
function ratio(num, den, lower,    r, n, q, m, a) {
	n = a = 0
	for (r = 1; r <= nr; r++)
		if (v[r, num] > 0 && v[r, den] > 0) {
			q[++n] = v[r, num] / v[r, den]
			a += lower ? q[n] < 1 : q[n] > 1
		}
	if (n == 0)
		return "none"
	m = med(q, n)
	return sprintf("%.2fx (%.2fx - %.2fx, ahead in %d of %d)", m, q[1], q[n], a, n)
}

END {
	printf "messages %s, stream %s; round trip %s\n", ratio("ivc-msg", "vchan-msg", 0),
		ratio("ivc-stream", "vchan-msg", 0), ratio("ivc-rtt", "vchan-rtt", 1)
}
