# shellcheck shell=bash
# Sourced by tests/deploy/install.sh, run.sh and warm-up.sh: where the deploy suite's builds
# are kept. The cross builds' cargo directories, the Debian system that the Raspberry Pi image
# and the VM test share, the images made from it and the second build of the reproducibility
# check live in a per-machine cache outside the work tree (tests/deploy/lib.mjs, TEST_CACHE),
# so a fresh clone on the same machine reuses them. Each is rebuilt when its inputs change.
export SHARETHINGS_TEST_CACHE="${SHARETHINGS_TEST_CACHE:-/var/cache/sharethings-tests}"
export CROSS_BUILD_ROOT="${CROSS_BUILD_ROOT:-$SHARETHINGS_TEST_CACHE/cross-build}"
# The toolchain too (install.sh puts it there): cargo's fingerprints of the standard library,
# which -Zbuild-std compiles from the toolchain's sources, hold those sources' absolute paths,
# so a toolchain inside each clone made every clone rebuild std and every crate on top of it.
export CROSS_TOOLCHAIN="${CROSS_TOOLCHAIN:-$SHARETHINGS_TEST_CACHE/cross-toolchain}"
# The Debian bookworm arm64 system of packaging/image/rootfs.sh, the one recipe behind both:
export ROOTFS_DIR="${ROOTFS_DIR:-$SHARETHINGS_TEST_CACHE/rootfs/bookworm-arm64}"
# the image that vm.test.mjs boots (it reads the same variable),
export DEPLOY_VM_DIR="${DEPLOY_VM_DIR:-$SHARETHINGS_TEST_CACHE/deploy-vm/bookworm-arm64}"
# and the Raspberry Pi image (packaging/image/build.sh; image.test.mjs reads it). It holds the
# package, so every change of the sources makes it again: compressed with xz -1 here, 193 MiB
# in 1.5 CPU-minutes, not a release's xz -6, 160 MiB in 7.
export RASPI_IMAGE_DIR="${RASPI_IMAGE_DIR:-$SHARETHINGS_TEST_CACHE/raspi-image}"
export IMAGE_XZ_LEVEL="${IMAGE_XZ_LEVEL:-1}"
# The second build of release.test.mjs's reproducibility check (tests/deploy/reproduce.sh).
export REPRODUCE_DIR="${REPRODUCE_DIR:-$SHARETHINGS_TEST_CACHE/reproduce}"
