# Compares the metrics of two metrics.jsonl files, iteration by iteration:
#   awk -v tol=1e-4 -f metrics_compare.awk A.jsonl B.jsonl
# Every metric field (timings excepted) of every iteration in A must be in B, within relative
# tolerance tol (|a - b| <= tol * max(|a|, |b|)); tol=0 asks for the same printed digits. Prints
# the largest relative difference and exits 1 on a miss or a mismatch.
function parse(line, out,    n, parts, i, kv, key) {
    gsub(/[{}"]/, "", line)
    n = split(line, parts, ",")
    for (i = 1; i <= n; i++) {
        split(parts[i], kv, ":")
        out[kv[1]] = kv[2]
    }
}
function timing(key) { return key ~ /seconds|images_per_second/ }
FNR == NR { delete m; parse($0, m); if (!("event" in m)) for (k in m) if (!timing(k)) want[m["iteration"], k] = m[k]; next }
{
    delete m; parse($0, m)
    if ("event" in m) next
    for (k in m) {
        if (timing(k) || !((m["iteration"], k) in want)) continue
        a = want[m["iteration"], k]; b = m[k]; seen[m["iteration"], k] = 1; compared++
        if (a == "null" || b == "null") { if (a != b) { print "iteration " m["iteration"] " " k ": " a " vs " b; bad++ } continue }
        d = a - b; d = d < 0 ? -d : d; s = (a < 0 ? -a : a); t = (b < 0 ? -b : b); s = s > t ? s : t
        r = s > 0 ? d / s : 0
        if (r > worst) { worst = r; where = "iteration " m["iteration"] " " k }
        if (tol == 0 ? a != b : r > tol) { print "iteration " m["iteration"] " " k ": " a " vs " b " (relative " r ")"; bad++ }
    }
}
END {
    for (key in want) if (!(key in seen)) { split(key, p, SUBSEP); print "missing: iteration " p[1] " " p[2]; bad++ }
    printf "compared %d values, largest relative difference %.3g%s\n", compared, worst, where ? " (" where ")" : ""
    exit (bad > 0 || compared == 0)
}
