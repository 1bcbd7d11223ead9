#!/usr/bin/env bash
# Installs the real Kafka clients the test suite drives, when they are missing: kcat (librdkafka's CLI) from
# Debian, confluent-kafka for Python from PyPI (pinned; it bundles a current librdkafka), and a JDK with Maven
# for the Java client (kafka-clients itself comes from Maven Central when its test first runs), and Go for franz-go
# (its modules come from the Go module proxy); strace for the test that the real fsyncs happen.
# Quick when everything is there; needs root or sudo for apt-get otherwise.
set -euo pipefail
CONFLUENT_KAFKA_VERSION=2.16.1
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

apt_packages=()
command -v kcat >/dev/null 2>&1 || apt_packages+=(kcat)
command -v python3 >/dev/null 2>&1 || apt_packages+=(python3 python3-pip)
command -v java >/dev/null 2>&1 || apt_packages+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || apt_packages+=(maven)
command -v go >/dev/null 2>&1 || apt_packages+=(golang-go)
command -v strace >/dev/null 2>&1 || apt_packages+=(strace) # tests/integration/fsync_syscalls_test.ts
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing ${apt_packages[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
if ! python3 -c "import confluent_kafka, sys; sys.exit(confluent_kafka.__version__ != '$CONFLUENT_KAFKA_VERSION')" >/dev/null 2>&1; then
  echo "installing confluent-kafka==$CONFLUENT_KAFKA_VERSION (pip)" >&2
  python3 -m pip install -q --root-user-action=ignore --break-system-packages "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >/dev/null 2>&1 ||
    python3 -m pip install -q --root-user-action=ignore "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >/dev/null
fi
