#!/usr/bin/env bash
# Mixed versions: twenty regions will not upgrade on one night, so a node of the previous version
# must keep replicating with the new central, and a new node with the previous central.
#
# Keeps the current release `node` and `central` under target/mixed/new, builds both from
# MIXED_VERSION_BASE (default: the last commit before document ids and storage keys carried their
# region) into the shared target directory, keeps those under target/mixed/old, and runs the
# partition chaos scenario twice: old nodes with the new central, then new nodes with the old central. Each run
# fails unless every card and note converges on both sides, none lost or duplicated.
#
# Both runs provision with the previous `provisioning` tool: a region that has not upgraded yet
# holds the bundle of its day (the previous node does not read a newer bundle format, and says so),
# and an upgraded node or hub starts on the bundle it already has until it is re-provisioned.
#
# Usage (from the repository root, after `cargo build --release -p node -p central -p simulations`):
#   .ci/mixed-version.sh
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

rm -rf "$work/src" "$work/old" "$work/new"
mkdir -p "$work/src" "$work/old" "$work/new"
# The current binaries, built from this tree (cargo is a no-op when they are up to date).
cargo build --release --locked -q -p node -p central -p provisioning
cp target/release/node target/release/central target/release/provisioning "$work/new/"
git archive "$base" | tar -x -C "$work/src"
echo "mixed-version: building node, central and provisioning at $(git log -1 --format='%h %s' "$base")"
(cd "$work/src" && CARGO_TARGET_DIR="$root/target" cargo build --release --locked -q -p node -p central -p provisioning)
cp target/release/node target/release/central target/release/provisioning "$work/old/"
# The old build wrote its artefacts under the same names as the current build's (the crates have
# the same names and versions) and replaced target/release/{node,central}. Put the current
# binaries back instead of building them again (that took about 4 minutes on 2 cores).
rm -rf "$work/src"
cp "$work/new/node" "$work/new/central" "$work/new/provisioning" target/release/
for bin in node central; do
  if cmp -s "$work/old/$bin" "$work/new/$bin"; then
    echo "mixed-version: the old and the current $bin are the same binary; nothing would be tested" >&2
    exit 1
  fi
done

echo "mixed-version: nodes at $base, central at HEAD"
target/release/simulations chaos partition --quick --seed "$seed" \
  --node-bin "$work/old/node" --central-bin "$work/new/central" \
  --provisioning-bin "$work/old/provisioning"
echo "mixed-version: nodes at HEAD, central at $base"
target/release/simulations chaos partition --quick --seed "$seed" \
  --node-bin "$work/new/node" --central-bin "$work/old/central" \
  --provisioning-bin "$work/old/provisioning"
