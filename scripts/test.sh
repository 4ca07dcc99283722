#!/usr/bin/env bash
# The test command of the README and of CI. The replica tests run real
# redis-server processes, each on a free loopback port that the test starts
# and stops itself (internal/redistest); this script only makes sure the
# binary is there, installing Debian's redis-server package when it is not.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  echo "redis-server not found: installing Debian's redis-server package for the replica tests" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq redis-server >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null; }
fi

go vet ./...
go test -race ./...
