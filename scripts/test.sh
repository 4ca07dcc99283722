#!/usr/bin/env bash
# The test command of the README and of CI. Some tests run programs from
# Debian's packages, which this script installs when they are missing:
#   redis-server  the replica tests run real Redis servers, each on a free
#                 loopback port that the test starts and stops itself
#                 (internal/redistest);
#   chromium      the status page test drives headless Chromium
#                 (internal/server);
#   promtool      (package prometheus) checks the alert rules in deploy/.
# The tests fail, naming the package, when one is still missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
have() { command -v "$1" >/dev/null || [ -x "/usr/bin/$1" ]; }
have redis-server || missing+=(redis-server)
have chromium || missing+=(chromium)
have promtool || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian's ${missing[*]} for the tests" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

go vet ./...
# go test's default limit is 10 minutes per package binary. The
# integration package takes 2-3 minutes on an idle 2-core machine and came
# near that limit on a loaded one, where it was killed before it could
# report anything. 15 minutes leaves a loaded machine room and still stops
# a hung package before CI's 20 minutes are up.
go test -race -timeout 15m ./...
