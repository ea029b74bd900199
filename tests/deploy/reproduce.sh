#!/usr/bin/env bash
# The second build of release.test.mjs's reproducibility check: this tree built again in
# another folder, by the same recipes.
#
#   tests/deploy/reproduce.sh DIR     # DIR: REPRODUCE_DIR of tests/deploy/cache-env.sh
#
# DIR/src is a copy of the work tree (what git would commit: tracked and new files, not
# ignored ones); in it
#   - cross/build.sh builds the server and the command-line client for
#     aarch64-unknown-linux-musl (the Raspberry Pi image's and the arm64 package's binaries)
#     into DIR/cross/dist, exactly as the first build did (the same packages in one cargo
#     run: cargo unifies the features of the packages it builds together);
#   - the web client is built with its own `npm ci` into DIR/web-build.
# release.test.mjs compares them with the first build: the binaries of target/cross/dist and
# the committed assets/ (which the e2e suite proves to be this clone's own build of web/).
#
# What it costs is kept low by keeping DIR per machine: the copy changes only the files whose
# contents differ (so cargo, which looks at their dates, rebuilds only what changed), the
# second cargo build has its own target directory there (the workspace crates and the links
# after a change, nothing when nothing changed), and the web client is built again only when a
# file under web/ changed.
#
# That target directory starts as a copy of the first build's, less every file of this
# workspace's own crates. What stays (the standard library, the dependencies, zig's musl) is
# compiled from sources at the same paths in both builds (the shared cross toolchain, cargo's
# registry), so the folder cannot show in it, and compiling it a second time cost 4.4 of the
# 5 CPU-minutes this step took on a fresh machine. Everything that could depend on the
# folder, the workspace crates, the server's build script and the links, is compiled here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${1:?usage: tests/deploy/reproduce.sh DIR}"
target=aarch64-unknown-linux-musl

say() { printf 'reproduce: %s\n' "$*" >&2; }

mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9

# The copy: contents only (no dates), so that an unchanged file keeps the date cargo saw.
# Git's ignored files (target/, node_modules/) are neither copied nor deleted there.
start=$(date +%s)
mkdir -p "$dir/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
    rsync --recursive --links --perms --checksum --from0 --files-from=- "$repo/" "$dir/src/"
(cd "$dir/src" && find . -path ./web/node_modules -prune -o -path ./target -prune -o \( -type f -o -type l \) -print0) |
    while IFS= read -r -d '' f; do
        [ -e "$repo/$f" ] || [ -L "$repo/$f" ] || rm -f "$dir/src/$f"
    done
say "copied to $dir/src in $(($(date +%s) - start)) s"

start=$(date +%s)
# Its own cargo directory (not the first build's CROSS_BUILD_ROOT), seeded once (see above).
first="${CROSS_BUILD_ROOT:-$repo/target/cross/build}/$target"
second="$dir/cross/build/$target"
if [ ! -d "$second" ] && [ -d "$first" ]; then
    rm -rf "$second.seed" && mkdir -p "$dir/cross/build"
    cp -a "$first" "$second.seed"
    # The workspace's crates: sharethings (its library, binary and build script),
    # sharethings-cli and sharethings-protocol; their fingerprints, objects and binaries.
    find "$second.seed" \( -name 'sharethings*' -o -name 'libsharethings*' \) -prune -exec rm -rf {} +
    rm -rf "$second.seed/incremental" "$second.seed/$target/release/incremental"
    mv "$second.seed" "$second"
    if [ ! -d "$dir/cross/zig-cache" ] && [ -d "${CROSS_TARGET_DIR:-$repo/target/cross}/zig-cache" ]; then
        cp -a "${CROSS_TARGET_DIR:-$repo/target/cross}/zig-cache" "$dir/cross/zig-cache"
    fi
    say "cargo directory seeded from $first in $(($(date +%s) - start)) s"
fi
CROSS_TARGET_DIR="$dir/cross" CROSS_BUILD_ROOT="$dir/cross/build" bash "$dir/src/cross/build.sh" "$target"
# Proof that the workspace was compiled in this folder, not taken from the first build: cargo
# recorded the sources of every crate it compiled, and the server's are under DIR/src.
grep -qF " $dir/src/src/main.rs" "$second/$target/release/sharethings.d" ||
    { say "the server's dep-info names no source under $dir/src"; exit 1; }
say "binaries for $target built in $dir/src in $(($(date +%s) - start)) s"

# The web client: again only when something under web/ changed since the last build here.
start=$(date +%s)
key="$(cd "$dir/src/web" && find . -path ./node_modules -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
if [ "$(cat "$dir/web-build.key" 2>/dev/null)" = "$key" ] && [ -d "$dir/web-build" ]; then
    say "web client: unchanged since its last build here"
else
    rm -f "$dir/web-build.key"
    cd "$dir/src/web"
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
    rm -rf "$dir/web-build"
    npm run --silent build -- --outDir "$dir/web-build" --emptyOutDir >/dev/null
    echo "$key" >"$dir/web-build.key"
    say "web client built in $dir/src/web in $(($(date +%s) - start)) s"
fi
