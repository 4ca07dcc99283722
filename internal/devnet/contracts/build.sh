#!/bin/sh
# Rebuilds Token.bin and Token.abi from Token.sol with solc-js from npm
# (solc 0.8.28 targets the cancun EVM by default; the devnet chain runs
# every fork up to the latest, so cancun bytecode runs there unchanged).
# go generate runs it from this directory's parent: see token.go.
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx --yes solc@0.8.28 --bin --abi --optimize -o "$out" Token.sol
cp "$out/Token_sol_Token.bin" Token.bin
cp "$out/Token_sol_Token.abi" Token.abi
