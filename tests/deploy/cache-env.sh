# shellcheck shell=bash
# Sourced by tests/deploy/install.sh, run.sh and warm-up.sh: where the deploy suite's builds
# are kept. The cross builds' cargo directories, the Debian arm64 system and the VM image made
# from it live in a per-machine cache outside the work tree (tests/deploy/lib.mjs,
# TEST_CACHE), so a fresh clone on the same machine reuses them.
export SHARETHINGS_TEST_CACHE="${SHARETHINGS_TEST_CACHE:-/var/cache/sharethings-tests}"
export CROSS_BUILD_ROOT="${CROSS_BUILD_ROOT:-$SHARETHINGS_TEST_CACHE/cross-build}"
# The toolchain too (install.sh puts it there): cargo's fingerprints of the standard library,
# which -Zbuild-std compiles from the toolchain's sources, hold those sources' absolute paths,
# so a toolchain inside each clone made every clone rebuild std and every crate on top of it.
export CROSS_TOOLCHAIN="${CROSS_TOOLCHAIN:-$SHARETHINGS_TEST_CACHE/cross-toolchain}"
# The Debian bookworm arm64 system of packaging/image/rootfs.sh, and the image made from it
# that vm.test.mjs boots (it reads the same variable).
export ROOTFS_DIR="${ROOTFS_DIR:-$SHARETHINGS_TEST_CACHE/rootfs/bookworm-arm64}"
export DEPLOY_VM_DIR="${DEPLOY_VM_DIR:-$SHARETHINGS_TEST_CACHE/deploy-vm/bookworm-arm64}"
