#!/usr/bin/env bash
# Builds the control-plane binaries envtest needs (kube-apiserver, etcd) from the Go module
# proxy into bin/k8s/, the only thing a fresh machine with Go can do: no download step.
# A stamp of tools/envtest/go.sum is kept beside them, so a rebuild happens only when the
# pinned versions change. The Go build cache makes even that rebuild incremental.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/k8s"
stamp="$out/.stamp"
want=$(cat "$root/tools/envtest/go.mod" "$root/tools/envtest/go.sum" "$root/tools/envtest/etcd/main.go" | sha256sum | cut -d' ' -f1)

if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	exit 0
fi

mkdir -p "$out"
# Tests start this script from several packages at once (when KUBEBUILDER_ASSETS is
# unset): one build at a time, and the others find its result, as build-prometheus.sh.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
	if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		exit 0
	fi
fi
cd "$root/tools/envtest"
echo "envtest: building etcd into bin/k8s (about 30 s cold)" >&2
go build -trimpath -o "$out/etcd.tmp" ./etcd
mv "$out/etcd.tmp" "$out/etcd"
echo "envtest: building kube-apiserver into bin/k8s (about 7 min cold on 2 cores; cached after)" >&2
go build -trimpath -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
echo "$want" > "$stamp"
echo "envtest: bin/k8s ready" >&2
