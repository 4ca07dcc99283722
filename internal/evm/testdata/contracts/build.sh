#!/bin/sh
# Rebuilds Multicall.bin and Multicall.abi from Multicall.sol with solc-js from
# npm (solc 0.8.28, cancun EVM by default; the devnet runs every later fork).
# Run it from anywhere: sh internal/evm/testdata/contracts/build.sh
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx --yes solc@0.8.28 --bin --abi --optimize -o "$out" Multicall.sol
cp "$out/Multicall_sol_Multicall.bin" Multicall.bin
cp "$out/Multicall_sol_Multicall.abi" Multicall.abi
