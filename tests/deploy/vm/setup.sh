#!/bin/sh
# Runs once in the arm64 tree after debootstrap's second stage, chrooted under qemu-user
# (tests/deploy/vm/build-image.sh): what a fresh Raspberry Pi OS Lite has and a bare
# debootstrap lacks, plus the test agent.
set -e
echo sharethings-vm >/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsharethings-vm\n' >/etc/hosts
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n' >/etc/fstab
# DHCP on the (only) wired interface, from systemd-networkd; resolv.conf from its lease.
mkdir -p /etc/systemd/network
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >/etc/systemd/network/50-wired.network
systemctl enable systemd-networkd.service systemd-networkd-wait-online.service
# The agent that runs the test's commands (tests/deploy/vm.test.mjs) as root.
install -m 0755 /root/agent.sh /usr/local/sbin/sharethings-test-agent
cat >/etc/systemd/system/sharethings-test-agent.service <<'UNIT'
[Unit]
Description=Test agent: runs the commands of tests/deploy/vm.test.mjs
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/local/sbin/sharethings-test-agent
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable sharethings-test-agent.service
# The image build's dpkg shortcuts (build-image.sh) end here.
rm -f /etc/dpkg/dpkg.cfg.d/sharethings-image-build
# apt has no package lists in a fresh debootstrap; the test installs local .debs only.
apt-get clean
rm -f /root/setup-image.sh /root/agent.sh
