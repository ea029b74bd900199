/**
 * CPace against draft-irtf-cfrg-cpace-21's own test vectors for CPACE-RISTR255-SHA512
 * (Appendix "Test vector for CPace using group ristretto255 and hash SHA-512"), and the
 * draft's string-utility vectors for the encodings it is built on.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../format';
import {
  calculateGenerator,
  CpaceError,
  confirmationTag,
  deriveIsk,
  generatorString,
  macKey,
  scalarFromBytes,
  scalarMult,
  scalarMultVfy,
  tagMatches,
  transcriptIr,
} from './cpace';
import { lv, lvCat, utf8Bytes } from './lv';

const draft = {
  prs: utf8Bytes('Password'),
  ci: fromHex('0b415f696e69746961746f720b425f726573706f6e646572'),
  sid: fromHex('7e4b4791d6a8ef019b936c79fb7f2c57'),
  generatorString:
    '11435061636552697374726574746f3235350850617373776f726464' +
    '00'.repeat(100) +
    '180b415f696e69746961746f720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f2c57',
  g: '222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56',
  ya: fromHex('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'),
  ada: utf8Bytes('ADa'),
  Ya: 'd6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157',
  yb: fromHex('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'),
  adb: utf8Bytes('ADb'),
  Yb: '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258',
  K: '80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f',
  transcriptIr:
    '20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f725803414462',
  iskIr:
    'b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447',
};

describe('string utilities (draft appendix)', () => {
  it('prepends LEB128 lengths', () => {
    expect(toHex(lv(new Uint8Array(0)))).toBe('00');
    expect(toHex(lv('1234'))).toBe('0431323334');
    expect(toHex(lv(Uint8Array.from({ length: 127 }, (_, i) => i))).slice(0, 4)).toBe('7f00');
    expect(toHex(lv(Uint8Array.from({ length: 128 }, (_, i) => i))).slice(0, 6)).toBe('800100');
    expect(toHex(lvCat('1234', '5', '', '678'))).toBe('043132333401350003363738');
  });

  it('writes integers as decimal digits', () => {
    expect(toHex(lvCat(42, 0))).toBe(toHex(lvCat('42', '0')));
    expect(() => lvCat(-1)).toThrow(RangeError);
    expect(() => lvCat(1.5)).toThrow(RangeError);
  });

  it('builds the initiator-responder transcript', () => {
    expect(toHex(transcriptIr(utf8Bytes('123'), utf8Bytes('PartyA'), utf8Bytes('234'), utf8Bytes('PartyB')))).toBe(
      '03313233065061727479410332333406506172747942',
    );
  });
});

describe('CPACE-RISTR255-SHA512 (draft vectors)', () => {
  it('derives the generator', () => {
    expect(toHex(generatorString(draft.prs, draft.ci, draft.sid))).toBe(draft.generatorString);
    expect(toHex(calculateGenerator(draft.prs, draft.ci, draft.sid).toBytes())).toBe(draft.g);
  });

  it('computes both shares, K and the initiator-responder ISK', () => {
    const g = calculateGenerator(draft.prs, draft.ci, draft.sid);
    const ya = scalarFromBytes(draft.ya);
    const yb = scalarFromBytes(draft.yb);
    const Ya = scalarMult(ya, g);
    const Yb = scalarMult(yb, g);
    expect(toHex(Ya)).toBe(draft.Ya);
    expect(toHex(Yb)).toBe(draft.Yb);
    expect(toHex(scalarMultVfy(ya, Yb))).toBe(draft.K);
    expect(toHex(scalarMultVfy(yb, Ya))).toBe(draft.K);
    expect(toHex(transcriptIr(Ya, draft.ada, Yb, draft.adb))).toBe(draft.transcriptIr);
    const shares = { ya: Ya, ada: draft.ada, yb: Yb, adb: draft.adb };
    expect(toHex(deriveIsk(ya, Yb, draft.sid, shares))).toBe(draft.iskIr);
    expect(toHex(deriveIsk(yb, Ya, draft.sid, shares))).toBe(draft.iskIr);
  });

  it('multiplies a valid point and maps invalid ones to the identity', () => {
    const s = scalarFromBytes(fromHex('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05'));
    expect(toHex(scalarMultVfy(s, fromHex('2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c')))).toBe(
      '7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e',
    );
    const identity = '00'.repeat(32);
    expect(toHex(scalarMultVfy(s, fromHex('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c')))).toBe(identity);
    expect(toHex(scalarMultVfy(s, fromHex(identity)))).toBe(identity);
  });

  it('aborts a run whose peer share is invalid or the identity', () => {
    const ya = scalarFromBytes(draft.ya);
    const shares = { ya: fromHex(draft.Ya), ada: draft.ada, yb: new Uint8Array(32), adb: draft.adb };
    expect(() => deriveIsk(ya, new Uint8Array(32), draft.sid, shares)).toThrow(CpaceError);
    expect(() => deriveIsk(ya, new Uint8Array(31), draft.sid, shares)).toThrow(CpaceError);
    expect(() => deriveIsk(ya, fromHex('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c'), draft.sid, shares)).toThrow(CpaceError);
  });

  it('confirms keys with tags that only the right share and key verify', () => {
    const isk = fromHex(draft.iskIr);
    const key = macKey(draft.sid, isk);
    const Ya = fromHex(draft.Ya);
    const ta = confirmationTag(key, Ya, draft.ada);
    expect(ta).toHaveLength(32);
    expect(tagMatches(key, Ya, draft.ada, ta)).toBe(true);
    expect(tagMatches(key, fromHex(draft.Yb), draft.adb, ta)).toBe(false);
    expect(tagMatches(macKey(draft.sid, new Uint8Array(64)), Ya, draft.ada, ta)).toBe(false);
  });
});
