#!/usr/bin/env bash
# Runs every benchmark of BENCH.md in one go and prints its tables with the ratios the
# goals are stated in (hack/benchtable). Raw output is kept in bin/bench.txt.
#   COUNT=5 hack/bench.sh     more runs per benchmark (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-3}
mkdir -p bin
hack/build-envtest.sh
hack/build-prometheus.sh
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$PWD/bin/k8s}
{
	go test ./internal/exposition/ -run '^$' -bench '^BenchmarkParse(OneMetric)?$' -benchtime 1s -count "$count"
	go test ./test/e2e/ -run '^$' -bench 'Refresh|Get' -count "$count"
	go test ./internal/history/ -run '^$' -bench . -benchtime 100x -count 1
	go test ./test/e2e/ -run '^$' -bench 'VersusPrometheus' -benchtime 1x -count 1
} | tee bin/bench.txt >&2
echo "machine: $(nproc) cores, $(go version), $(uname -sr)"
go run ./hack/benchtable < bin/bench.txt
