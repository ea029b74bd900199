#!/usr/bin/env bash
# Build the Debian packages of ShareThings from the static binaries of cross/build.sh.
#
#   packaging/build-deb.sh              # arm64, armhf and amd64
#   packaging/build-deb.sh arm64        # one or more of them
#
# Debian architecture -> binary (target/cross/dist/sharethings{,-cli}-<target>):
#   arm64   aarch64-unknown-linux-musl      64-bit Raspberry Pi OS, any arm64 Debian
#   armhf   arm-unknown-linux-musleabihf    32-bit Raspberry Pi OS: ARMv6 with VFP, so one
#                                           package runs on every Pi, the Pi 1 and Zero included
#   amd64   x86_64-unknown-linux-musl       any amd64 Debian or Ubuntu
#
# Output: target/cross/deb/sharethings_<version>_<arch>.deb. The files come from this
# repository (systemd/, haproxy/, packaging/, docs/) and the package is built with dpkg-deb
# alone (no debian/ source package), because the binaries are cross-built beforehand; the
# maintainer scripts do what debhelper's would for a service. Needs dpkg-deb and gzip.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="${CROSS_DIST:-$repo/target/cross/dist}"
out="${DEB_OUT:-$repo/target/cross/deb}"
here="$repo/packaging"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)"
[ -n "$version" ] || { echo "build-deb: no version in Cargo.toml" >&2; exit 1; }
changelog_version="$(sed -n '1s/^sharethings (\([^)]*\)).*/\1/p' "$here/debian/changelog")"
[ "$changelog_version" = "$version" ] ||
    { echo "build-deb: packaging/debian/changelog is at $changelog_version, Cargo.toml at $version" >&2; exit 1; }

target_of() {
    case "$1" in
        arm64) echo aarch64-unknown-linux-musl ;;
        armhf) echo arm-unknown-linux-musleabihf ;;
        amd64) echo x86_64-unknown-linux-musl ;;
        *) echo "build-deb: unknown architecture $1 (arm64, armhf, amd64)" >&2; return 1 ;;
    esac
}

# The repository's units start /usr/local/bin/sharethings or sharethings-cli (the manual
# route); the package's binaries are in /usr/bin. Nothing else in them changes.
unit() { sed 's|^ExecStart=/usr/local/bin/sharethings|ExecStart=/usr/bin/sharethings|' "$repo/systemd/$1"; }

build_one() {
    local arch="$1" target root doc deb
    target="$(target_of "$arch")"
    for bin in sharethings sharethings-cli; do
        [ -f "$dist/$bin-$target" ] || { echo "build-deb: $dist/$bin-$target missing: run cross/build.sh" >&2; return 1; }
    done
    root="$out/root-$arch"
    doc="$root/usr/share/doc/sharethings"
    rm -rf "$root"
    # Every directory 0755 and file 0644 unless set below; dpkg-deb --root-owner-group makes
    # them root's without fakeroot.
    umask 022
    install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/sbin" "$root/lib/systemd/system" \
        "$root/etc/sharethings" "$root/usr/share/sharethings" "$doc/examples" \
        "$root/usr/lib/systemd/user" "$root/usr/share/lintian/overrides" "$root/usr/share/man/man1" \
        "$root/usr/share/man/man8"

    install -m 0755 "$dist/sharethings-$target" "$root/usr/bin/sharethings"
    install -m 0755 "$dist/sharethings-cli-$target" "$root/usr/bin/sharethings-cli"
    install -m 0755 "$here/sharethings-setup-tls" "$root/usr/sbin/sharethings-setup-tls"
    install -m 0755 "$repo/haproxy/make-cert.sh" "$root/usr/share/sharethings/make-cert.sh"
    install -m 0644 "$repo/haproxy/haproxy.cfg" "$root/usr/share/sharethings/haproxy.cfg"
    unit sharethings.service >"$root/lib/systemd/system/sharethings.service"
    unit sharethings@.service >"$root/lib/systemd/system/sharethings@.service"
    # A user unit (systemctl --user), for desktops: clipboard sync with sharethings-cli clip.
    unit sharethings-clip.service >"$root/usr/lib/systemd/user/sharethings-clip.service"
    install -m 0644 "$repo/systemd/sharethings.env.example" "$root/etc/sharethings/sharethings.env"

    for page in "$here"/man/*.[18]; do
        gzip -9nc "$page" >"$root/usr/share/man/man${page##*.}/$(basename "$page").gz"
    done
    install -m 0644 "$here/debian/copyright" "$doc/copyright"
    gzip -9nc "$here/debian/changelog" >"$doc/changelog.gz"
    gzip -9nc "$repo/README.md" >"$doc/README.md.gz"
    gzip -9nc "$repo/docs/deploy.md" >"$doc/deploy.md.gz"
    install -m 0644 "$repo/haproxy/haproxy.cfg" "$doc/examples/haproxy.cfg"
    install -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/sharethings"

    for script in postinst prerm postrm; do install -m 0755 "$here/debian/$script" "$root/DEBIAN/$script"; done
    install -m 0644 "$here/debian/conffiles" "$root/DEBIAN/conffiles"
    (cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
        LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/md5sums"
    sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" \
        -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" \
        "$here/debian/control.in" >"$root/DEBIAN/control"

    deb="$out/sharethings_${version}_${arch}.deb"
    # The file dates are the commit's, so two builds of one commit give the same package.
    SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}" \
        dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
    rm -rf "$root"
    echo "build-deb: $deb ($(stat -c %s "$deb") bytes)" >&2
}

mkdir -p "$out"
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf amd64)
for arch in "${archs[@]}"; do build_one "$arch"; done
