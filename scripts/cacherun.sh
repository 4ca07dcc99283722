#!/usr/bin/env bash
# Cache-hit load run for docs/benchmarks.md: requests/s braid answers from
# its answer cache (target: 40,000/s with braid and wrk on one 2-core
# machine). Loopback only; every wrk run is bounded (DURATION seconds) and so
# is every wait.
#
#   scripts/cacherun.sh                 # needs wrk and curl
#   DURATION=20 CONNS=128 scripts/cacherun.sh
#
# braid demo (a dev chain, 4 providers and the gateway, in one process) is
# started; the script waits until the chain has a finalized block (the
# simulated beacon finalizes every 32nd block, so with --block-time 1s block
# 32 is finalized about 30 s after start; FINAL_MIN=0 uses genesis at once),
# warms the cache with eth_getBlockByNumber of that block, checks that the
# next identical request says Braid-Cache: hit, and runs wrk with that
# request: unpinned, then with braid on core 0 and wrk on core 1 (taskset).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
PORT=${PORT:-18555}
CONNS=${CONNS:-64}      # the standard run's connections
SWEEP=${SWEEP:-"16 64 128 256"} # connections tried unpinned
FINAL_MIN=${FINAL_MIN:-32}  # wait (bounded) until this block is finalized
FINAL_WAIT=${FINAL_WAIT:-90} # seconds
for tool in wrk curl; do
  command -v $tool >/dev/null || { echo "$tool not found: apt-get install -y $tool" >&2; exit 1; }
done
pin=; command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && pin=yes

tmp=$(mktemp -d)
bin=$tmp/braid
go build -o "$bin" ./cmd/braid
"$bin" demo --listen 127.0.0.1:$PORT --providers 4 --block-time 1s --log-level warn >"$tmp/demo.out" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
url=http://127.0.0.1:$PORT/
for _ in $(seq 100); do
  curl -fs 127.0.0.1:$PORT/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs 127.0.0.1:$PORT/readyz >/dev/null || { echo "braid did not become ready" >&2; cat "$tmp/demo.out" >&2; exit 1; }

rpc() { curl -fs -m 5 "$url" -H 'content-type: application/json' -d "$1"; }
hexnum() { grep -o "\"$1\":\"0x[0-9a-fA-F]*\"" | head -1 | sed 's/.*"\(0x[0-9a-fA-F]*\)"/\1/'; }

# The finalized block, through braid. The simulated beacon finalizes genesis
# at once and then every 32nd block.
fin=-1
deadline=$((SECONDS + FINAL_WAIT))
while :; do
  h=$(rpc '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["finalized",false]}' | hexnum number || true)
  [ -n "$h" ] && fin=$((h))
  [ "$fin" -ge "$FINAL_MIN" ] && break
  if [ $SECONDS -ge $deadline ]; then
    [ "$fin" -ge 0 ] || { echo "no finalized block within ${FINAL_WAIT}s" >&2; exit 1; }
    echo "warning: finalized block is $fin after ${FINAL_WAIT}s (wanted >= $FINAL_MIN); using it" >&2
    break
  fi
  sleep 1
done
N=$(printf '0x%x' "$fin")
head=$(rpc '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' | sed 's/.*"result":"\(0x[0-9a-fA-F]*\)".*/\1/')
user=$(curl -fs 127.0.0.1:$PORT/demo/info | grep -o '"address": *"0x[0-9a-fA-F]*"' | head -1 | sed 's/.*"\(0x[0-9a-fA-F]*\)"/\1/')
echo "braid demo pid $pid at $url; head $((head)), finalized block $fin ($N); user $user"

block="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"$N\",false]}"
full="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"$N\",true]}"
balance="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"$user\",\"$N\"]}"

# Warm each call and check that the next identical one is a hit (a few
# tries: right after start braid may not serve a tip yet).
cachehdr() { curl -fs -m 5 -i "$url" -H 'content-type: application/json' -d "$1" | tr -d '\r' | grep -i '^braid-cache:' || true; }
for body in "$block" "$full" "$balance"; do
  ok=
  for _ in 1 2 3 4 5; do
    h1=$(cachehdr "$body"); h2=$(cachehdr "$body")
    [ "$(echo "$h2" | tr 'A-Z' 'a-z')" = "braid-cache: hit" ] && { ok=yes; break; }
    sleep 1
  done
  size=$(rpc "$body" | wc -c)
  echo "warm $(echo "$body" | cut -c1-110): [$h1] then [$h2], answer $size bytes"
  [ -n "$ok" ] || { echo "the request is not answered from the cache" >&2; exit 1; }
done

lua=$tmp/post.lua
cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
LUA
# The same, checking every answer's Braid-Cache header (a response callback
# slows wrk, so the throughput rows do not use it).
check=$tmp/check.lua
cat >"$check" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) hit = 0; nothit = 0 end
function response(status, headers, body)
  if status == 200 and headers["Braid-Cache"] == "hit" then hit = hit + 1 else nothit = nothit + 1 end
end
function done(summary, latency, requests)
  local h, n = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hit"); n = n + t:get("nothit") end
  io.write(string.format("Braid-Cache check: %d responses, %d not 'hit' (or not 200)\n", h + n, n))
end
LUA

cpu_ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }        # braid's user+system
wrk_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }          # reaped children's: wrk's
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; } # whole machine
rss() { awk '/^VmRSS/ {print $2 " " $3}' /proc/$pid/status; }
tck=$(getconf CLK_TCK)
pct() { awk -v a="$1" -v b="$2" -v t="$tck" -v d="$DURATION" 'BEGIN {printf "%.0f%%", 100*(b-a)/t/d}'; }
fmt='| %-36s | %2s | %3s | %10s | %9s | %9s | %7s | %5s | %5s | %5s |'
rows=()
run() { # label script body threads conns [wrk prefix...]
  local label=$1 script=$2 body=$3 t=$4 c=$5; shift 5
  local out c0 c1 w0 w1 m0 m1
  echo "== $label (-t$t -c$c, ${DURATION}s)"
  c0=$(cpu_ticks); w0=$(wrk_ticks); m0=$(busy_ticks)
  out=$(BODY=$body "$@" wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s --latency -s "$script" "$url")
  c1=$(cpu_ticks); w1=$(wrk_ticks); m1=$(busy_ticks)
  echo "$out" | grep -E 'Latency |  50%|  99%|Requests/sec|Non-2xx|Socket errors|Braid-Cache check'
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
  # shellcheck disable=SC2059
  rows+=("$(printf "$fmt" "$label" "$t" "$c" "$rps" "$p50" "$p99" "$non2xx" "$(pct "$c0" "$c1")" "$(pct "$w0" "$w1")" "$(pct "$m0" "$m1")")")
}

echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
c0=$(cpu_ticks); sleep 5; c1=$(cpu_ticks)
echo "braid RSS before the runs: $(rss); its CPU with no load (the chain mining, head polls): $(DURATION=5 pct "$c0" "$c1")"
# Unpinned: braid (with the chain and providers in its process) and wrk share both cores.
for c in $SWEEP; do
  run "unpinned block false" "$lua" "$block" 2 "$c"
done
run "unpinned block false, header check" "$check" "$block" 2 "$CONNS"
run "unpinned block true (full)" "$lua" "$full" 2 "$CONNS"
run "unpinned eth_getBalance" "$lua" "$balance" 2 "$CONNS"

if [ -n "$pin" ]; then
  # braid's process (every thread) on core 0, wrk on core 1. The Go runtime
  # follows the new CPU set with GOMAXPROCS within about a second.
  taskset -a -p -c 0 $pid >/dev/null
  sleep 2
  echo "braid threads allowed CPUs: $(cat /proc/$pid/task/*/status | awk '/Cpus_allowed_list/ {print $2}' | sort | uniq -c | tr '\n' ' ')"
  run "pinned block false" "$lua" "$block" 1 "$CONNS" taskset -c 1
  run "pinned block false" "$lua" "$block" 1 128 taskset -c 1
  run "pinned block false, header check" "$check" "$block" 1 "$CONNS" taskset -c 1
  run "pinned block true (full)" "$lua" "$full" 1 "$CONNS" taskset -c 1
  run "pinned eth_getBalance" "$lua" "$balance" 1 "$CONNS" taskset -c 1
  taskset -a -p -c 0-$(($(nproc) - 1)) $pid >/dev/null
else
  echo "(taskset not found or one core: no pinned runs)"
fi

echo
echo "CPU columns: braid's process, wrk, and the whole machine's busy time, over each run (100% = one core)."
echo "Summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); DURATION=${DURATION}s; finalized block $fin)"
# shellcheck disable=SC2059
printf "$fmt\n" run t c requests/s p50 p99 non-2xx braid wrk all
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "braid process (chain, providers and gateway) RSS after the runs: $(rss)"
echo "cache: $(curl -fs 127.0.0.1:$PORT/metrics | grep -E '^braid_cache_(bytes|entries)' | tr '\n' ' ')"
