#!/usr/bin/env bash
# Measures what podscrape adds to a controller's binary (BENCH.md, "Binary size"): three
# programs of the module hack/binsize, built alike: a controller-runtime client listing pods
# (without), the same plus Prometheus' promql engine and chunkenc (promqlonly: the floor of
# PromQL), and the same building a PodScrapingSource with a PromQL query (with). Prints
# packages, size, and stripped size of each, and the difference to without.
set -euo pipefail
cd "$(dirname "$0")/binsize"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
base=0
base_s=0
printf '%-12s %9s %12s %12s %10s %10s\n' program packages bytes stripped "+MB" "+MB(s)"
for p in without promqlonly with; do
	go build -trimpath -o "$out/$p" "./$p"
	go build -trimpath -ldflags='-s -w' -o "$out/$p.s" "./$p"
	n=$(go list -deps "./$p" | wc -l)
	sz=$(stat -c %s "$out/$p")
	ss=$(stat -c %s "$out/$p.s")
	if [[ $p == without ]]; then base=$sz; base_s=$ss; fi
	awk -v p="$p" -v n="$n" -v sz="$sz" -v ss="$ss" -v b="$base" -v bs="$base_s" \
		'BEGIN { printf "%-12s %9d %12d %12d %10.2f %10.2f\n", p, n, sz, ss, (sz-b)/1e6, (ss-bs)/1e6 }'
done
