#!/usr/bin/env bash
# franz-go's own client tests (package pkg/kgo) pointed at a broker, as a compatibility suite.
#   run.sh <bootstrap> [rf]
# Fetches github.com/twmb/franz-go at a pinned version into the Go module cache, copies it to a writable temp
# folder, runs `go test ./pkg/kgo/` with KGO_SEEDS=<bootstrap> and KGO_TEST_RF=<rf> (default 1), saves the full
# output and prints a summary: counts, then one line per failed test, then "franz: N passed, N failed".
# Exit 0 when no test failed. Environment:
#   FRANZ_TIMEOUT      go test -timeout (default 15m)
#   FRANZ_RUN          go test -run pattern (default: all tests)
#   FRANZ_SKIP         go test -skip pattern (default: none)
#   FRANZ_LOG          the file for the full output (default FRANZ_OUT/kgo-<time>.log)
#   KGO_TEST_RECORDS   records per producing test (franz-go's default is 500000; here 50000 for a 2-core box)
#   FRANZ_OUT          folder for the saved output (default <repo>/.cache/franz)
set -euo pipefail

FRANZ_VERSION=v1.22.2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
bootstrap=$1
rf=${2:-1}
out_dir=${FRANZ_OUT:-$REPO/.cache/franz}
mkdir -p "$out_dir"
log=${FRANZ_LOG:-$out_dir/kgo-$(date -u +%Y%m%dT%H%M%SZ).log}

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# `go mod download` outside any module: it only fills the module cache and prints where the module is.
src=$(cd "$work" && GO111MODULE=on GOFLAGS=-mod=mod go mod download -json "github.com/twmb/franz-go@$FRANZ_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "franz: could not download github.com/twmb/franz-go@$FRANZ_VERSION" >&2; exit 2; }

# The module cache is read-only and some tests write files, so the tests run from a copy.
cp -r "$src" "$work/franz-go"
chmod -R u+w "$work/franz-go"

echo "franz: github.com/twmb/franz-go@$FRANZ_VERSION pkg/kgo against $bootstrap (rf $rf); output in $log" >&2
started=$SECONDS
set +e
(
  cd "$work/franz-go" \
    && KGO_SEEDS=$bootstrap KGO_TEST_RF=$rf KGO_TEST_RECORDS=${KGO_TEST_RECORDS:-50000} KGO_LOG_LEVEL=${KGO_LOG_LEVEL:-none} \
      GOFLAGS=-mod=mod go test -count=1 -vet=off -v -timeout "${FRANZ_TIMEOUT:-15m}" ${FRANZ_RUN:+-run "$FRANZ_RUN"} \
      ${FRANZ_SKIP:+-skip "$FRANZ_SKIP"} ./pkg/kgo/
) >"$log" 2>&1
status=$?
set -e

# Top-level results only: subtests are indented, top-level "--- PASS: TestX (1.2s)" lines are not.
passed=$(grep -c '^--- PASS: ' "$log" || true)
failed=$(grep -c '^--- FAIL: ' "$log" || true)
skipped=$(grep -c '^--- SKIP: ' "$log" || true)
echo "franz: go test exit $status after $((SECONDS - started))s" >&2
grep '^--- FAIL: ' "$log" | sed 's/^/franz: /' >&2 || true
if grep -q '^panic: test timed out' "$log"; then
  echo "franz: timed out; still running: $(grep -A3 'running tests:' "$log" | tail -n +2 | tr -s ' \n' ' ')" >&2
  failed=$((failed + 1))
fi
echo "franz: ${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
