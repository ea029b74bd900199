#!/usr/bin/env bash
# Build the ShareThings container image: FROM scratch, holding only the static musl server
# of cross/build.sh, for linux/amd64, linux/arm64, linux/arm/v7 and linux/arm/v6 under one
# multi-arch manifest list, as one archive. Both linux/arm images carry the ARMv6 binary,
# which runs on every 32-bit Pi (cross/build.sh): a runtime on an ARMv7 board finds its own
# platform in the list, and the two images share one layer.
#
#   packaging/container/build.sh [ARCHIVE]   # default target/cross/oci/sharethings-<version>-oci.tar
#
# Offline and without a daemon: buildah, with a private store in a temporary directory (the
# machine's own images are left alone). The archive is an OCI image layout (oci-archive)
# whose images are Docker schema 2, the format that carries a HEALTHCHECK; load it with
# `podman load -i ARCHIVE` (the image for the machine's platform, as
# localhost/sharethings:<version>), or push every platform to a registry with
# `skopeo copy --all oci-archive:ARCHIVE docker://REGISTRY/sharethings:<version>`.
#
# Each image: /sharethings (mode 0755, owned by root) and nothing else; runs as 65534:65534
# (nobody), so it needs no writable file but the temporary directory for its workers' socket
# (podman's --read-only gives a tmpfs /tmp; compose.yaml says so itself); listens on
# 0.0.0.0:3001 (HOST and PORT, every setting of `sharethings --help` as an environment
# variable); health check `sharethings --health-check` (GET /health on loopback). Its stop
# signal is SIGKILL: as PID 1 the server has no SIGTERM handler, so SIGTERM would be ignored
# and every stop would wait for the runtime's timeout; it keeps nothing to flush (under
# systemd SIGTERM ends it at once as well). File and image dates are the commit's
# (SOURCE_DATE_EPOCH), so each platform's layer is the same from the same binary; the image
# configurations carry the id buildah gave its working container.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dist="${CROSS_DIST:-$repo/target/cross/dist}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)"
archive="${1:-$repo/target/cross/oci/sharethings-$version-oci.tar}"
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}"
# platform (os/arch/variant) and the cross/build.sh target whose binary it carries
platforms=(
    "amd64 - x86_64-unknown-linux-musl"
    "arm64 v8 aarch64-unknown-linux-musl"
    "arm v7 arm-unknown-linux-musleabihf"
    "arm v6 arm-unknown-linux-musleabihf"
)

say() { printf 'container: %s\n' "$*" >&2; }

for p in "${platforms[@]}"; do
    read -r _ _ target <<<"$p"
    [ -f "$dist/sharethings-$target" ] || { say "$dist/sharethings-$target missing: run cross/build.sh"; exit 1; }
done

store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
# Docker schema 2: OCI's image configuration has no health check.
export BUILDAH_FORMAT=docker
bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }
list="localhost/sharethings:$version"
bah manifest create "$list" >/dev/null
for p in "${platforms[@]}"; do
    read -r arch variant target <<<"$p"
    [ "$variant" = - ] && variant=
    ctr="$(bah from --arch "$arch" ${variant:+--variant "$variant"} scratch)"
    # Copied with the commit's date, so that the layer is the same on every build.
    cp "$dist/sharethings-$target" "$store/sharethings"
    touch -d "@$epoch" "$store/sharethings"
    bah copy --quiet --chmod 0755 --chown 0:0 "$ctr" "$store/sharethings" /sharethings
    bah config --os linux --arch "$arch" ${variant:+--variant "$variant"} \
        --hostname sharethings --user 65534:65534 --entrypoint '["/sharethings"]' --cmd '' \
        --env HOST=0.0.0.0 --env PORT=3001 --port 3001/tcp --stop-signal SIGKILL \
        --healthcheck 'CMD /sharethings --health-check' --healthcheck-interval 30s \
        --healthcheck-timeout 10s --healthcheck-start-period 5s --healthcheck-retries 3 \
        --label org.opencontainers.image.title=ShareThings \
        --label org.opencontainers.image.description="End-to-end encrypted sharing between your own devices: the relay server" \
        --label org.opencontainers.image.version="$version" \
        --label org.opencontainers.image.licenses=MIT \
        --created-by 'packaging/container/build.sh' "$ctr"
    bah commit --quiet --rm --timestamp "$epoch" --omit-history "$ctr" "$list-$arch${variant:+-$variant}" >/dev/null
    bah manifest add --arch "$arch" ${variant:+--variant "$variant"} "$list" "$list-$arch${variant:+-$variant}" >/dev/null
done
mkdir -p "$(dirname "$archive")"
rm -f "$archive"
bah manifest push --quiet --all --format v2s2 "$list" "oci-archive:$archive:sharethings:$version"
say "$archive ($(stat -c %s "$archive") bytes): linux/amd64, linux/arm64/v8, linux/arm/v7, linux/arm/v6"
