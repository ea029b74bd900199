// A format 3 member that is not the web client: it joins with the room secret an invite link
// carries (docs/protocol.md, "Invites", "Joining as a member") and then seals and signs, with its
// own device key, whatever controls a test tells it to, as a modified client of a real member
// could. What the browsers do with them is what the test checks: a member's signature proves who
// sent a control, not that the sender may. Node's own crypto and a raw Engine.IO v4 WebSocket
// (the `ws` package), written from the protocol document, so it shares no code with the web client.
import { createCipheriv, createHash, createHmac, generateKeyPairSync, hkdfSync, randomBytes, sign } from 'node:crypto';
import WebSocket from 'ws';

/** `lv_cat`: each field prefixed with its length as unsigned LEB128; integers as decimal digits. */
function lvCat(...fields) {
  const parts = [];
  for (const f of fields) {
    const bytes = typeof f === 'string' || typeof f === 'number' ? Buffer.from(String(f), 'utf8') : Buffer.from(f);
    const len = [];
    let rest = bytes.length;
    do {
      len.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
      rest >>>= 7;
    } while (rest > 0);
    parts.push(Buffer.from(len), bytes);
  }
  return Buffer.concat(parts);
}

const sha256 = (b) => createHash('sha256').update(b).digest();
const b64url = (b) => Buffer.from(b).toString('base64url');

/** The room secret of an invite link: `#s=<session>&k=b64url(roomKey || creatorPk || prs?)`. */
function secretOf(link) {
  const params = new URLSearchParams(new URL(link).hash.slice(1));
  const k = Buffer.from(params.get('k'), 'base64url');
  return { sessionId: params.get('s'), roomKey: k.subarray(0, 32), creatorPk: k.subarray(32, 64) };
}

/**
 * Joins the session of invite `link` on the server at `base` as a member named `name`, and says
 * hello with its card. Returns what it can send, and the item ids it saw relayed.
 */
export async function rogueMember(base, link, name) {
  const { sessionId, roomKey, creatorPk } = secretOf(link);
  const epoch = sha256(lvCat('sharethings/v3/epoch', creatorPk)).subarray(0, 16);
  const key = (label) => Buffer.from(hkdfSync('sha256', roomKey, epoch, lvCat(`sharethings/v3/${label}`, sessionId), 32));
  const contentKey = key('content');
  const accessKey = key('access');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pk = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const device = b64url(pk);
  let seq = 0;

  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const acks = new Map();
  let nextAck = 0;
  /** Item ids relayed to this member, in order, from `content` events of items (not controls). */
  const items = [];
  let connected;
  const ready = new Promise((resolve) => (connected = resolve));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = String(data);
    if (text === '2') return ws.send('3');
    if (text.startsWith('0{')) return ws.send('40');
    if (text.startsWith('40')) return connected();
    const ack = /^43(\d+)(\[.*)$/s.exec(text);
    if (ack) return acks.get(Number(ack[1]))?.(JSON.parse(ack[2])[0]);
    const event = /^4[25]\d*-?(\[.*)$/s.exec(text);
    if (event) {
      const [kind, payload] = JSON.parse(event[1]);
      if (kind === 'content' && payload?.content?.totalChunks > 0) items.push(payload.content.contentId);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await ready;

  const ask = (event, payload) =>
    new Promise((resolve) => {
      const id = nextAck++;
      acks.set(id, resolve);
      ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });

  const challenge = await ask('challenge', { sessionId });
  if (!challenge.success) throw new Error(`challenge refused: ${challenge.code}`);
  const proof = createHmac('sha256', accessKey).update(lvCat('sharethings/v3/join', sessionId, Buffer.from(challenge.nonce, 'base64'))).digest();
  const joined = await ask('join', { sessionId, v: 3, access: accessKey.toString('base64'), owner: creatorPk.toString('base64'), proof: proof.toString('base64') });
  if (!joined.success) throw new Error(`join refused: ${joined.code}`);

  /** Seals a control (padded JSON, counted, signed by this device) and relays it to everyone. */
  async function sendControl(value) {
    const contentId = randomBytes(16).toString('hex');
    const text = Buffer.from(JSON.stringify(value), 'utf8');
    const plain = Buffer.alloc(Math.max(256, Math.ceil(text.length / 256) * 256), 0x20);
    text.copy(plain);
    seq += 1;
    const aad = lvCat('sharethings/v3/meta', epoch, contentId, pk, seq, 0);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', contentKey, iv);
    cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const sig = sign(null, lvCat('sharethings/v3/sig', sha256(aad), sha256(Buffer.concat([iv, ct]))), privateKey);
    const content = { contentId, format: 3, totalChunks: 0, iv: iv.toString('base64'), by: device, seq, sig: sig.toString('base64') };
    const id = nextAck++;
    const acked = new Promise((resolve) => acks.set(id, resolve));
    ws.send(`451-${id}${JSON.stringify(['content', { sessionId, content, data: { _placeholder: true, num: 0 } }])}`);
    ws.send(ct);
    const ack = await acked;
    if (!ack?.success) throw new Error(`content refused: ${ack?.code}`);
  }

  /** Says who it is (a card signed for this room), as every member does after joining. */
  async function hello(as) {
    const at = Date.now();
    const sig = sign(null, lvCat('sharethings/v3/card', epoch, pk, as, at), privateKey);
    await sendControl({ kind: 'hello', clientId: joined.clientId, card: { device, name: as, at, sig: sig.toString('base64') } });
  }

  await hello(name);
  return {
    device,
    items,
    hello,
    sendControl,
    close: () => ws.close(),
  };
}
