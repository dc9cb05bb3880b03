#!/usr/bin/env bash
# Run every fuzz target of the module for a while.
#
#   infra/fuzz.sh [PER_TARGET] [REGEXP]
#
# PER_TARGET is a Go duration for each target (default 2s: the CI run of
# `task test:fuzz`; 30 targets took 153 s with a warm build cache on a
# 2-core machine at load 20, 63 s of CPU);
# use minutes locally (`go tool task fuzz -- 10m`). REGEXP keeps only the
# targets whose name matches (e.g. 'Split|Open').
#
# Each package's test binary is built once with fuzz instrumentation and
# run once per target, from the package directory, so seeds come from
# f.Add and testdata/fuzz/<Target>/ and a failing input is written there
# (commit it: it becomes a regression seed). The generated corpus is kept
# where `go test -fuzz` keeps it ($GOCACHE/fuzz/<import path>), or under
# $FUZZ_CACHE.
set -euo pipefail
per="${1:-2s}"
only="${2:-.}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cache="${FUZZ_CACHE:-$(go env GOCACHE)/fuzz/$(go list -m)}"
bins="$(mktemp -d)"
trap 'rm -rf "$bins"' EXIT

# package dir -> targets
declare -A targets
while IFS=: read -r file _ line; do
  name="$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")"
  [[ "$name" =~ $only ]] || continue
  dir="$(dirname "$file")"
  targets[$dir]+="$name "
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '^./.local/' | sort)

start=$(date +%s)
n=0
fail=0
for dir in $(printf '%s\n' "${!targets[@]}" | sort); do
  bin="$bins/$(tr '/.' '__' <<<"$dir").test"
  # -fuzz takes one package per go command; the build cache shares the
  # instrumented dependencies between them.
  go test -c -fuzz=. -o "$bin" "./$dir"
  for t in ${targets[$dir]}; do
    n=$((n + 1))
    printf '%-40s %s ... ' "${dir#./}" "$t"
    if out="$(cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^${t}\$" -test.fuzztime="$per" \
      -test.fuzzcachedir="$cache/${dir#./}" -test.parallel=2 2>&1)"; then
      echo "ok ($(grep -oE 'execs: [0-9]+' <<<"$out" | tail -1))"
    elif ! grep -q 'Failing input written to' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
      # Go's fuzz engine reports the -fuzztime deadline as a failure when
      # it falls while a worker is still inside one slow input (a
      # decompression-bomb seed takes seconds); no input failed and none
      # was written, so this is not a finding.
      echo "ok (deadline reached inside a slow input; no failing input)"
    else
      echo FAIL
      echo "$out" | tail -30
      fail=$((fail + 1))
    fi
  done
done
echo "fuzz: $n targets, $fail failed, $(( $(date +%s) - start ))s"
[[ $fail -eq 0 ]]
