#!/usr/bin/env bash
# Installs the official Heroku CLI (npm `heroku`, pinned with its whole tree by
# scripts/heroku-cli/package-lock.json) into .tmp/heroku-cli, once: the simulator's CLI suite
# (crates/dynopilot-sim/tests/it/heroku_cli.rs) runs it from there. Install scripts stay off;
# the CLI needs none of them (native ssh2 speed-ups only).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=".tmp/heroku-cli"
stamp="$prefix/node_modules/.dynopilot-lock"
if [ -f "$stamp" ] && cmp -s "$stamp" scripts/heroku-cli/package-lock.json; then
  echo "heroku CLI already installed in $prefix"
  exit 0
fi
mkdir -p "$prefix"
cp scripts/heroku-cli/package.json scripts/heroku-cli/package-lock.json "$prefix/"
(cd "$prefix" && npm ci --no-audit --no-fund --ignore-scripts)
cp scripts/heroku-cli/package-lock.json "$stamp"
echo "heroku CLI $(node -p "require('./$prefix/node_modules/heroku/package.json').version") installed in $prefix"
