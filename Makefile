# podscrape. `make demo` shows it working; `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
# The control plane the tests and the demo run on, built from the Go module proxy.
export KUBEBUILDER_ASSETS ?= $(CURDIR)/bin/k8s

.PHONY: all build cgo envtest prometheus test demo bench fuzz vet mutation

all: build

build:
	$(GO) build ./...

## envtest: build kube-apiserver and etcd into bin/k8s (once; rebuilt when pinned versions change)
envtest:
	hack/build-envtest.sh

## prometheus: build the Prometheus server the differential tests compare with into bin/prometheus (once)
prometheus:
	hack/build-prometheus.sh

## test: vet, then every unit, end-to-end and differential test with the race detector
## (which needs cgo: a C compiler; .ci/run installs one on a machine without)
test: cgo envtest prometheus vet
	$(GO) test -race -count=1 -timeout 30m ./...

# cgo: fail at once, not after the builds, where -race cannot run.
cgo:
	@[ "$$($(GO) env CGO_ENABLED)" = 1 ] || { echo "make test needs cgo for -race: install a C compiler (gcc) or set CGO_ENABLED=1"; exit 1; }

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')) || { echo "gofmt failed: a file does not parse (above)"; exit 1; }; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

## demo: a local control plane with simulated EPP and vLLM pods, scraped live
demo: envtest prometheus
	$(GO) build -o bin/podscrape ./cmd/podscrape
	bin/podscrape demo

## bench: the benchmarks of BENCH.md
bench:
	hack/bench.sh

## fuzz: fuzz the exposition parser for 60 s: syntax and semantics, then the allocation bound
fuzz:
	$(GO) test ./internal/exposition -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 40s -fuzzminimizetime 5s
	$(GO) test ./internal/exposition -run '^$$' -fuzz '^FuzzParseAllocBound$$' -fuzztime 20s -fuzzminimizetime 5s

## mutation: plant bugs with gremlins (tools/gremlins) in the fast packages and report how many their tests catch, per package (minutes each; not part of test; see RELIABILITY.md)
mutation:
	hack/mutation.sh $(MUTATION_PACKAGES)
