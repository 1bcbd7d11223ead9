#!/usr/bin/env bash
# Apache Kafka as a reference broker: one node, broker and KRaft controller in one process, on 127.0.0.1.
#
#   kafka.sh fetch                              jars from Maven Central into the cache (quick when cached)
#   kafka.sh start [--port P] [--dir D] [--set k=v ...] [--timeout S] [--max-lifetime S] [--keep-data]
#                                               prints the bootstrap address (the only line on stdout)
#   kafka.sh stop [--dir D]                     SIGTERM, wait, SIGKILL after --grace S (default 30)
#   kafka.sh status [--dir D]                   exit 0 and "running ..." or exit 3 and "stopped"
#   kafka.sh classpath                          the java -cp value for the cached jars
#   kafka.sh run CLASS [ARGS...]                runs a Kafka main class (tools, perf tests) on the cached jars
#
# The jars live in ${SAMSA_CACHE:-~/.cache/samsa}/kafka-<version>/libs, outside the work tree so every clone
# on a machine shares them; the run folder (config, data, logs, pid) defaults to <repo>/.cache/kafka.
# A started broker stops itself after --max-lifetime seconds (default 3600; 0 means never).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
POM=$HERE/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
CACHE=${SAMSA_CACHE:-$HOME/.cache/samsa}
HOME_DIR=$CACHE/kafka-$KAFKA_VERSION
LIBS=$HOME_DIR/libs
STAMP=$HOME_DIR/fetched
DEFAULT_DIR=$REPO/.cache/kafka
MIN_JAVA=17
NEWER_JDK=/usr/lib/jvm/temurin-25-jdk-amd64

say() { printf '[kafka] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

pom_hash() { sha256sum "$POM" | cut -c1-16; }

cmd_fetch() {
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(pom_hash)" ]; then
    say "cached: $LIBS"
    return
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  say "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $LIBS"
  local tmp=$HOME_DIR/libs.tmp
  rm -rf "$tmp"
  mkdir -p "$HOME_DIR"
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 \
    || die "mvn dependency:copy-dependencies failed"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_hash >"$STAMP"
  say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

# The major version of a java binary, e.g. 17 (0 if it does not run).
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1 \
    | grep -E '^[0-9]+$' || echo 0
}

# Kafka 4.x needs Java 17 or newer: the default java if it is new enough, else the newer JDK.
pick_java() {
  local candidate
  for candidate in "${KAFKA_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
    "$NEWER_JDK/bin/java"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if [ "$(java_major "$candidate")" -ge "$MIN_JAVA" ]; then
      echo "$candidate"
      return
    fi
  done
  die "no Java $MIN_JAVA+ found (set KAFKA_JAVA to a java binary)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when pid file $1 names a live process that is really our Kafka for run folder $2 (guards pid reuse).
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2/server.properties"
}

# Tools log warnings to stderr only; the broker logs to files in its run folder.
tools_log_config() {
  local f=$HOME_DIR/log4j2-tools.properties
  [ -f "$f" ] || cat >"$f" <<'EOF'
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
EOF
  echo "$f"
}

cmd_classpath() { echo "$LIBS/*"; }

cmd_run() {
  [ $# -ge 1 ] || die "usage: kafka.sh run CLASS [ARGS...]"
  cmd_fetch
  local java
  java=$(pick_java)
  exec "$java" -Xmx512m -Dlog4j2.configurationFile="$(tools_log_config)" -cp "$LIBS/*" "$@"
}

write_broker_log_config() {
  cat >"$1/log4j2.properties" <<EOF
# Everything at INFO into server.log; the per-request and state-change chatter only when it is a warning.
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $1/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.network.name = kafka.network.RequestChannel\$
logger.network.level = WARN
EOF
}

write_server_properties() {
  local dir=$1 port=$2 cport=$3
  shift 3
  {
    echo "# Written by tests/compat/kafka/kafka.sh: one node, broker and KRaft controller in one process."
    echo "process.roles=broker,controller"
    echo "node.id=1"
    echo "controller.quorum.voters=1@127.0.0.1:$cport"
    echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    echo "controller.listener.names=CONTROLLER"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "log.dirs=$dir/data"
    echo "num.partitions=1"
    echo "auto.create.topics.enable=true"
    # Internal topics must fit a single node.
    echo "offsets.topic.replication.factor=1"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    echo "share.coordinator.state.topic.replication.factor=1"
    echo "share.coordinator.state.topic.min.isr=1"
    # Tests should not wait three seconds for the first rebalance of every group.
    echo "group.initial.rebalance.delay.ms=0"
    echo "# --set overrides (java.util.Properties keeps the last value of a key)"
    local kv
    for kv in "$@"; do echo "$kv"; done
  } >"$dir/server.properties"
}

# Kills the broker after a lifetime, unless it stops first; detached so it outlives this script.
start_watchdog() {
  local dir=$1 pid=$2 lifetime=$3
  [ "$lifetime" -gt 0 ] || return 0
  nohup setsid bash -c '
    pid=$1; lifetime=$2; end=$((SECONDS + lifetime))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 2; done
    kill -0 "$pid" 2>/dev/null || exit 0
    echo "[kafka] max lifetime of ${lifetime}s reached, stopping pid $pid" >&2
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
  ' watchdog "$pid" "$lifetime" >>"$dir/watchdog.log" 2>&1 </dev/null &
  echo $! >"$dir/watchdog.pid"
}

# Ready means the broker answers a metadata request and lists itself.
broker_ready() {
  local bootstrap=$1
  if command -v kcat >/dev/null; then
    local metadata
    metadata=$(kcat -b "$bootstrap" -L -m 2 2>/dev/null) || return 1
    [[ $metadata == *" 1 brokers:"* ]]
  else
    port_open "${bootstrap##*:}"
  fi
}

cmd_start() {
  local dir=$DEFAULT_DIR port="" timeout=90 lifetime=3600 keep=0
  local sets=()
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=$2; shift 2 ;;
      --dir) dir=$2; shift 2 ;;
      --set) [[ $2 == *=* ]] || die "--set wants key=value, got '$2'"; sets+=("$2"); shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --max-lifetime) lifetime=$2; shift 2 ;;
      --keep-data) keep=1; shift ;;
      *) die "unknown option for start: $1" ;;
    esac
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if alive "$dir/kafka.pid" "$dir"; then
    die "already running (pid $(cat "$dir/kafka.pid")) at $(cat "$dir/bootstrap"); stop it first"
  fi
  cmd_fetch
  local java
  java=$(pick_java)
  say "using $java (Java $(java_major "$java"))"

  [ -n "$port" ] || port=$(free_port)
  local cport
  cport=$(free_port)
  while [ "$cport" = "$port" ]; do cport=$(free_port); done
  port_open "$port" && die "port $port is already in use"

  [ "$keep" = 1 ] || rm -rf "$dir/data"
  rm -f "$dir/server.log" "$dir/stdout.log"
  write_server_properties "$dir" "$port" "$cport" "${sets[@]}"
  write_broker_log_config "$dir"

  local jvm=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
    "$java" "${jvm[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
      >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "storage format failed"; }
  fi

  local bootstrap=127.0.0.1:$port
  echo "$bootstrap" >"$dir/bootstrap"
  nohup setsid "$java" "${jvm[@]}" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/kafka.pid"
  start_watchdog "$dir" "$pid" "$lifetime"

  local start=$SECONDS
  until broker_ready "$bootstrap"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
      die "Kafka exited during startup (logs in $dir)"
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
      cmd_stop --dir "$dir" >&2
      die "Kafka did not answer within ${timeout}s (logs in $dir)"
    fi
    sleep 0.5
  done
  say "Apache Kafka $KAFKA_VERSION up in $((SECONDS - start))s, pid $pid, run folder $dir"
  echo "$bootstrap"
}

cmd_stop() {
  local dir=$DEFAULT_DIR grace=30
  while [ $# -gt 0 ]; do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      --grace) grace=$2; shift 2 ;;
      *) die "unknown option for stop: $1" ;;
    esac
  done
  [ -d "$dir" ] || { say "stopped (no run folder $dir)"; return 0; }
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/watchdog.pid" ]; then
    kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
    rm -f "$dir/watchdog.pid"
  fi
  if ! alive "$dir/kafka.pid" "$dir"; then
    rm -f "$dir/kafka.pid"
    say "stopped (was not running)"
    return 0
  fi
  local pid deadline
  pid=$(cat "$dir/kafka.pid")
  kill -TERM "$pid"
  deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$dir/kafka.pid"
  say "stopped pid $pid"
}

cmd_status() {
  local dir=$DEFAULT_DIR
  while [ $# -gt 0 ]; do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      *) die "unknown option for status: $1" ;;
    esac
  done
  if [ -d "$dir" ] && alive "$dir/kafka.pid" "$dir"; then
    echo "running pid=$(cat "$dir/kafka.pid") bootstrap=$(cat "$dir/bootstrap") version=$KAFKA_VERSION dir=$dir"
  else
    echo "stopped"
    return 3
  fi
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    fetch) cmd_fetch ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    classpath) cmd_classpath ;;
    run) cmd_run "$@" ;;
    *) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
