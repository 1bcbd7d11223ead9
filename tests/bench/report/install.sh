#!/usr/bin/env bash
# What `deno task bench:report` measures with, installed when missing (quick when everything is there):
# - Debian: fio and iperf3 (the machine's limits), GNU time (client CPU and RSS), redis-server and redis-tools
#   (Redis Streams), nats-server (NATS JetStream); Java, Maven and kcat come from tests/install_clients.sh.
# - PyPI, pinned: nats-py, redis, hiredis (the NATS and Redis clients of W4).
# - nats-server 2.10 (the first with `sync_interval: always`, JetStream's fsync-per-write) built from the Go
#   module proxy into ~/.cache/samsa when Go is there; otherwise the Debian 2.9 server runs with a note.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$HERE/../../install_clients.sh"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
need=()
command -v fio >/dev/null 2>&1 || need+=(fio)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
[ -x /usr/bin/time ] || need+=(time)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c "import nats, redis, hiredis" >/dev/null 2>&1; then
  echo "installing nats-py, redis, hiredis (pip)" >&2
  python3 -m pip install -q --root-user-action=ignore nats-py==2.16.0 redis==8.1.0 hiredis==3.5.0 >/dev/null
fi
NATS_DIR="$HOME/.cache/samsa/nats-server-2.10.29"
if [ ! -x "$NATS_DIR/nats-server" ] && command -v go >/dev/null 2>&1; then
  echo "building nats-server 2.10.29 (go install)" >&2
  GOBIN="$NATS_DIR" go install github.com/nats-io/nats-server/v2@v2.10.29 >/dev/null 2>&1 ||
    echo "nats-server 2.10 could not be built; the Debian nats-server runs instead" >&2
fi
