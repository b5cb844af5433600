#!/usr/bin/env bash
# Mixed versions: twenty regions will not upgrade on one night, so a node of the previous version
# must keep replicating with the new central, and a new node with the previous central.
#
# Keeps the current `node`, `central` and `provisioning` (dev profile) under target/mixed/new,
# builds the same three from MIXED_VERSION_BASE (default: the last commit before document ids and
# storage keys carried their region) into the shared target directory, keeps those under
# target/mixed/old, and runs the partition chaos scenario twice: old nodes with the new central,
# then new nodes with the old central. Each run fails unless every card and note converges on both
# sides, none lost or duplicated.
#
# The dev profile, not release: the previous version then reuses every dependency the debug build
# of the tests already compiled and only its own crates are built (about 2 minutes on 2 cores,
# against 7 for a release build). The scenario checks what the versions say to each other, which
# does not depend on the optimisation level.
#
# Both runs provision with the previous `provisioning` tool: a region that has not upgraded yet
# holds the bundle of its day (the previous node does not read a newer bundle format, and says so),
# and an upgraded node or hub starts on the bundle it already has until it is re-provisioned.
#
# Usage (from the repository root; `target/release/simulations` must be built):
#   .ci/mixed-version.sh          build, then run
#   .ci/mixed-version.sh build    only build (it replaces target/debug/{node,central,provisioning}
#                                 for a while, then puts the current ones back)
#   .ci/mixed-version.sh run      only run, on what `build` left in target/mixed
set -euo pipefail
base=${MIXED_VERSION_BASE:-f3c8f7d}
seed=${MIXED_VERSION_SEED:-5}
root=$(pwd)
work="$root/target/mixed"

if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  echo "mixed-version: commit $base is not in this clone's history (a shallow clone?):" >&2
  echo "mixed-version: the previous version cannot be built here; clone with full history to run this check" >&2
  exit 0
fi

bins=(node central provisioning)

build() {
  rm -rf "$work/src" "$work/old" "$work/new"
  mkdir -p "$work/src" "$work/old" "$work/new"
  # The current binaries, built from this tree (cargo is a no-op when they are up to date).
  cargo build --locked -q -p node -p central -p provisioning
  for bin in "${bins[@]}"; do cp "target/debug/$bin" "$work/new/"; done
  git archive "$base" | tar -x -C "$work/src"
  echo "mixed-version: building node, central and provisioning at $(git log -1 --format='%h %s' "$base")"
  (cd "$work/src" && CARGO_TARGET_DIR="$root/target" cargo build --locked -q -p node -p central -p provisioning)
  for bin in "${bins[@]}"; do cp "target/debug/$bin" "$work/old/"; done
  # The old build wrote its artefacts under the same names as the current build's (the crates have
  # the same names and versions) and replaced target/debug/{node,central,provisioning}. Put the
  # current binaries back instead of building them again.
  rm -rf "$work/src"
  for bin in "${bins[@]}"; do cp "$work/new/$bin" target/debug/; done
  for bin in node central; do
    if cmp -s "$work/old/$bin" "$work/new/$bin"; then
      echo "mixed-version: the old and the current $bin are the same binary; nothing would be tested" >&2
      exit 1
    fi
  done
}

run() {
  for bin in "${bins[@]}"; do
    for side in old new; do
      if [ ! -x "$work/$side/$bin" ]; then
        echo "mixed-version: $work/$side/$bin is missing; run '.ci/mixed-version.sh build' first" >&2
        exit 1
      fi
    done
  done
  echo "mixed-version: nodes at $base, central at HEAD"
  target/release/simulations chaos partition --quick --seed "$seed" \
    --node-bin "$work/old/node" --central-bin "$work/new/central" \
    --provisioning-bin "$work/old/provisioning"
  echo "mixed-version: nodes at HEAD, central at $base"
  target/release/simulations chaos partition --quick --seed "$seed" \
    --node-bin "$work/new/node" --central-bin "$work/old/central" \
    --provisioning-bin "$work/old/provisioning"
}

case "${1:-all}" in
  build) build ;;
  run) run ;;
  all) build && run ;;
  *)
    echo "usage: .ci/mixed-version.sh [build|run]" >&2
    exit 2
    ;;
esac
