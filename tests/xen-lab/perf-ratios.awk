# Ratios of the lab's performance rows (checks.sh, section 9) for one size
# (-v s=SIZE): in each round libIVC against libxenvchan, then the median,
# lowest and highest over the rounds. Input: "ROUND test,size,median,...".
# Throughput: ivc-msg and ivc-stream against vchan-msg (higher is better
# for libIVC); round trip: ivc-rtt against vchan-rtt (lower is better).
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

# "1.23x (0.98x - 1.40x)" over the rounds that have both rows
function ratio(num, den,    r, n, q, m) {
	n = 0
	for (r = 1; r <= nr; r++)
		if (v[r, num] > 0 && v[r, den] > 0)
			q[++n] = v[r, num] / v[r, den]
	if (n == 0)
		return "none"
	m = med(q, n)
	return sprintf("%.2fx (%.2fx - %.2fx)", m, q[1], q[n])
}

END {
	printf "messages %s, stream %s; round trip %s\n", ratio("ivc-msg", "vchan-msg"),
		ratio("ivc-stream", "vchan-msg"), ratio("ivc-rtt", "vchan-rtt")
}
