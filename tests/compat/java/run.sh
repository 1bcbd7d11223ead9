#!/usr/bin/env bash
# The Java client driver, one command: builds when the sources changed, then runs one scenario.
#   run.sh <bootstrap> <produce-idempotent|produce-retry|consume|admin|group-classic|group-consumer>
# Prints one JSON line per check on stdout; exits 1 if a check failed, 2 on bad usage.
#   run.sh workload <produce|consume|group|tail> <bootstrap> ...   the chaos workload (ChaosWorkload.java)
# Environment: COMPAT_RECORDS (default 100), COMPAT_RF (default 1), JAVA (default: java on PATH, 17+).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -ne 2 ] && [ "${1:-}" != workload ]; then
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
stamp=$HERE/target/built
if [ ! -f "$stamp" ] || [ -n "$(find "$HERE/pom.xml" "$HERE/src" -newer "$stamp" -print -quit)" ]; then
  mkdir -p "$HERE/target"
  mvn -B -Dstyle.color=never -f "$HERE/pom.xml" compile >"$HERE/target/build.log" 2>&1 \
    || { tail -n 40 "$HERE/target/build.log" >&2; echo "build failed (target/build.log)" >&2; exit 2; }
  touch "$stamp"
fi
main=dev.samsa.compat.Driver
if [ "$1" = workload ]; then
  main=dev.samsa.compat.ChaosWorkload
  shift
fi
exec "${JAVA:-java}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err \
  -cp "$HERE/target/classes:$HERE/target/lib/*" "$main" "$@"
