#!/usr/bin/env bash
# Builds the Prometheus server the differential tests and the demo compare against, and
# promtool beside it (test/serve drives podscrape serve with it), from the Go module proxy
# into bin/prometheus/ (no download step: a fresh machine has only Go). The
# version is pinned by tools/prometheus/go.mod; a stamp of it is kept beside the binary, so a
# rebuild happens only when the pin changes. No UI assets are built: /api/v1 works, the UI
# pages answer 500, and nothing here needs them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/prometheus"
stamp="$out/.stamp"
want=$(cat "$root/tools/prometheus/go.mod" "$root/tools/prometheus/go.sum" | sha256sum | cut -d' ' -f1)

if [[ -x "$out/prometheus" && -x "$out/promtool" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	exit 0
fi

mkdir -p "$out"
# Tests start this script from several packages at once: one build at a time, and the
# others find its result.
# (flock is util-linux's; without it, make test's own run of this script, before any test
# starts, is the only build.)
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi
if [[ -x "$out/prometheus" && -x "$out/promtool" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	exit 0
fi
cd "$root/tools/prometheus"
echo "prometheus: building the Prometheus server into bin/prometheus (about 7-10 min cold on 2 cores; cached after)" >&2
go build -trimpath -o "$out/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus
go build -trimpath -o "$out/promtool.tmp" github.com/prometheus/prometheus/cmd/promtool
mv "$out/prometheus.tmp" "$out/prometheus"
mv "$out/promtool.tmp" "$out/promtool"
echo "$want" > "$stamp"
echo "prometheus: bin/prometheus/prometheus and bin/prometheus/promtool ready" >&2
