#!/usr/bin/env bash
# Builds the Prometheus server the differential tests and the demo compare against, from the
# Go module proxy into bin/prometheus/ (no download step: a fresh machine has only Go). The
# version is pinned by tools/prometheus/go.mod; a stamp of it is kept beside the binary, so a
# rebuild happens only when the pin changes. No UI assets are built: /api/v1 works, the UI
# pages answer 500, and nothing here needs them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/prometheus"
stamp="$out/.stamp"
want=$(cat "$root/tools/prometheus/go.mod" "$root/tools/prometheus/go.sum" | sha256sum | cut -d' ' -f1)

if [[ -x "$out/prometheus" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	exit 0
fi

mkdir -p "$out"
cd "$root/tools/prometheus"
echo "prometheus: building the Prometheus server into bin/prometheus (about 7-10 min cold on 2 cores; cached after)" >&2
go build -trimpath -o "$out/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus
mv "$out/prometheus.tmp" "$out/prometheus"
echo "$want" > "$stamp"
echo "prometheus: bin/prometheus ready" >&2
