// What an emulated guest sent on its network, read from the capture qemu's filter-dump writes
// (bootQemu's `capture`): image.test.mjs's proof that the Raspberry Pi image phones nowhere.

import assert from 'node:assert/strict';
import { GUEST_MAC } from './guest.mjs';

/**
 * What the guest started on the network, from a capture of qemu's filter-dump (pcap,
 * Ethernet): one entry per packet the guest sent that was not a reply on a connection
 * someone else opened, as { what, to, port, names } (names: those a DNS query asked for).
 * TCP counts only its SYNs; ARP, IGMP and ICMPv6 (address resolution, multicast
 * membership) are the link's own business and left out.
 */
export function guestInitiated(pcap) {
  const b = pcap;
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'pcap, little-endian, microseconds');
  assert.equal(b.readUInt32LE(20), 1, 'Ethernet frames');
  const mac = Buffer.from(GUEST_MAC.split(':').map((x) => parseInt(x, 16)));
  const found = [];
  for (let at = 24; at + 16 <= b.length;) {
    const length = b.readUInt32LE(at + 8);
    const frame = b.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    if (frame.length < 14 || !frame.subarray(6, 12).equals(mac)) continue;
    const type = frame.readUInt16BE(12);
    let proto;
    let to;
    let l4;
    if (type === 0x0800) {
      const ihl = (frame[14] & 0x0f) * 4;
      proto = frame[23];
      to = [...frame.subarray(30, 34)].join('.');
      l4 = frame.subarray(14 + ihl);
    } else if (type === 0x86dd) {
      proto = frame[20];
      to = frame.subarray(38, 54).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
      l4 = frame.subarray(54);
      // Past the extension headers (hop-by-hop, routing, destination options) to the payload.
      while ([0, 43, 60].includes(proto)) {
        proto = l4[0];
        l4 = l4.subarray((l4[1] + 1) * 8);
      }
    } else {
      continue; // ARP
    }
    if (proto === 6) {
      const flags = l4[13];
      if ((flags & 0x02) && !(flags & 0x10)) found.push({ what: 'tcp', to, port: l4.readUInt16BE(2) });
    } else if (proto === 17) {
      const port = l4.readUInt16BE(2);
      found.push({ what: 'udp', to, port, names: port === 53 ? dnsQuestions(l4.subarray(8)) : [] });
    } else if (proto !== 2 && proto !== 58) {
      found.push({ what: `ip protocol ${proto}`, to });
    }
  }
  return found;
}

/** The names a DNS message asks for. */
function dnsQuestions(msg) {
  const names = [];
  let at = 12;
  for (let q = msg.readUInt16BE(4); q > 0 && at < msg.length; q -= 1) {
    const labels = [];
    while (at < msg.length && msg[at] !== 0) {
      labels.push(msg.subarray(at + 1, at + 1 + msg[at]).toString('latin1'));
      at += 1 + msg[at];
    }
    at += 5; // the zero, type and class
    names.push(labels.join('.'));
  }
  return names;
}
