#!/usr/bin/env bash
# Load run for docs/benchmarks.md: braid's added latency over a direct call
# to one devnet provider, and requests/s through braid. Loopback only, and
# every wrk run is bounded (DURATION seconds).
#
#   scripts/loadrun.sh            # needs wrk (apt-get install wrk)
#   DURATION=20 scripts/loadrun.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
PORT=${PORT:-18545}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

bin=$(mktemp -d)/braid
go build -o "$bin" ./cmd/braid
"$bin" demo --listen 127.0.0.1:$PORT --providers 4 --block-time 1s --log-level warn >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs 127.0.0.1:$PORT/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
urls=$(curl -fs 127.0.0.1:$PORT/demo/faults | grep -o '"url": *"[^"]*"' | sed 's/.*"\(http[^"]*\)"/\1/')
p1=$(echo "$urls" | head -1)

# A separate `braid serve` process in front of the demo's providers: the
# deployment shape (gateway and providers in different processes).
cfg=$(mktemp --suffix .yaml)
{
  echo "listen: 127.0.0.1:$((PORT+1))"
  echo "networks:"
  echo "  - name: devnet"
  echo "    chain_id: 1337"
  echo "    upstreams:"
  i=0
  for u in $urls; do
    i=$((i+1))
    echo "      - {name: p$i, operator: operator-$i, url: \"$u\"}"
  done
} >"$cfg"
"$bin" serve --config "$cfg" --log-level warn &
spid=$!
trap 'kill $pid $spid 2>/dev/null; wait $pid $spid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs 127.0.0.1:$((PORT+1))/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
braid=http://127.0.0.1:$((PORT+1))/
echo "braid serve $braid  provider p1 $p1"

lua=$(mktemp --suffix .lua)
cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
LUA

block='{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1",false]}'
chain='{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'

run() { # name url body threads conns
  echo "== $1 (-t$4 -c$5, ${DURATION}s)"
  BODY=$3 wrk -t"$4" -c"$5" -d"${DURATION}s" --latency -s "$lua" "$2" | grep -E 'Latency |  50%|  99%|Requests/sec|Non-2xx|Socket errors'
}

# Added latency: one connection, one request at a time; direct and through
# braid alternate twice so drift on a shared machine shows.
for round in 1 2; do
  run "direct p1 eth_getBlockByNumber" "$p1" "$block" 1 1
  run "braid eth_getBlockByNumber" "$braid" "$block" 1 1
done
run "direct p1 eth_chainId" "$p1" "$chain" 1 1
run "braid eth_chainId (answered by braid)" "$braid" "$chain" 1 1
# Throughput: 32 connections.
run "braid eth_getBlockByNumber" "$braid" "$block" 2 32
run "braid eth_chainId" "$braid" "$chain" 2 32
run "direct p1 eth_getBlockByNumber" "$p1" "$block" 2 32
