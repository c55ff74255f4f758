#!/usr/bin/env bash
# make mutation: how many planted bugs each package's tests catch. gremlins (pinned by
# tools/gremlins/go.mod, built into bin/gremlins once, rebuilt when the pin changes) plants
# one mutant at a time (a flipped comparison, a changed boundary, a removed negation, an
# arithmetic swap) in every covered line and runs the package's tests: KILLED when they
# fail, LIVED when they pass. Efficacy is KILLED / (KILLED + LIVED).
#
# Usage: hack/mutation.sh [PACKAGE_DIR ...]   (default: the four packages measured in
# RELIABILITY.md, whose tests take seconds: about 45 min in all on 2 shared cores; name
# others, such as source/llmd or internal/history, to measure them)
# Environment: MUTATION_WORKERS (1), MUTATION_TIMEOUT_COEFFICIENT (10: a mutant's tests
# may run 10 times as long as the unmutated ones before it counts as TIMED OUT, which
# gremlins counts as killed), MUTATION_OUT (bin/mutation: one JSON report per package).
#
# Not part of make test: each package takes minutes (one test run per mutant). The
# working tree is never touched: the module's tracked and new files are copied to a
# temporary directory, and gremlins mutates its own copies of that.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin/gremlins"
stamp="$root/bin/.gremlins.stamp"
want=$(cat "$root/tools/gremlins/go.mod" "$root/tools/gremlins/go.sum" | sha256sum | cut -d' ' -f1)
if [[ ! -x "$bin" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
	echo "mutation: building gremlins into bin/ (about 1 min cold)" >&2
	mkdir -p "$root/bin"
	(cd "$root/tools/gremlins" && go build -trimpath -o "$bin.tmp" github.com/go-gremlins/gremlins/cmd/gremlins)
	mv "$bin.tmp" "$bin"
	echo "$want" > "$stamp"
fi

packages=("$@")
if [[ ${#packages[@]} -eq 0 ]]; then
	packages=(internal/exposition internal/flight source source/prometheus)
fi
workers=${MUTATION_WORKERS:-1}
coefficient=${MUTATION_TIMEOUT_COEFFICIENT:-10}
out=${MUTATION_OUT:-$root/bin/mutation}
mkdir -p "$out"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module as the working tree has it, without bin/, .git or ignored files.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | (mkdir "$work/tree" && tar -xf - -C "$work/tree")

status=0
for pkg in "${packages[@]}"; do
	pkg=${pkg#./}
	pkg=${pkg%/}
	name=${pkg//\//_}
	copy="$work/run"
	rm -rf "$copy"
	cp -a "$work/tree" "$copy"
	# gremlins tests PKG/...: drop the packages nested under PKG from this copy, so only
	# PKG's own tests run (source/pod's control plane is not needed to test source).
	find "$copy/$pkg" -mindepth 1 -type d ! -path '*/testdata*' -exec sh -c 'ls "$1"/*.go >/dev/null 2>&1' _ {} \; -print |
		sort -r | while read -r d; do rm -rf "$d"; done
	echo "mutation: $pkg" >&2
	if ! (cd "$copy" && nice -n 19 "$bin" unleash --workers "$workers" --timeout-coefficient "$coefficient" \
		--output "$out/$name.json" "./$pkg") 2>&1 | tee "$out/$name.log"; then
		status=1
	fi
	rm -rf "$copy"
done
echo "mutation: reports in $out" >&2
exit $status
