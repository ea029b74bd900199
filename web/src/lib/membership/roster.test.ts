import { describe, expect, it } from 'vitest';
import { Roster } from './roster';

const card = (device: string, name: string, at: number) => ({ device, name, at, sig: 's' });

describe('Roster', () => {
  it('names a device from its newest card, else from its admission record', () => {
    const r = new Roster('creator');
    expect(r.addRecord({ device: 'd1', name: 'Phone', by: 'creator', at: 5, sig: 's' })).toBe(true);
    expect(r.nameOf('d1')).toBe('Phone');
    expect(r.addCard(card('d1', 'My phone', 6))).toBe(true);
    expect(r.nameOf('d1')).toBe('My phone');
    expect(r.addCard(card('d1', 'Old name', 4))).toBe(false);
    expect(r.nameOf('d1')).toBe('My phone');
    expect(r.nameOf('nobody')).toBeUndefined();
  });

  it('maps connections to devices only as hellos bind them', () => {
    const r = new Roster('creator');
    r.addCard(card('creator', 'Laptop', 1));
    expect(r.deviceOf('c1')).toBeUndefined();
    r.bind('c1', 'creator');
    expect(r.membersOnline()).toEqual([{ clientId: 'c1', device: 'creator', name: 'Laptop' }]);
    // The same device on a new connection (a reload) replaces the old one.
    r.bind('c2', 'creator');
    expect(r.deviceOf('c1')).toBeUndefined();
    expect(r.deviceOf('c2')).toBe('creator');
    r.unbind('c2');
    expect(r.membersOnline()).toEqual([]);
  });

  it('stays within its bound, keeping the creator and the newest', () => {
    const r = new Roster('creator', 3);
    r.addCard(card('creator', 'Laptop', 1));
    for (let i = 0; i < 5; i++) r.addCard(card(`d${i}`, `D${i}`, 10 + i));
    expect(r.toStored().cards.map((c) => c.device).sort()).toEqual(['creator', 'd3', 'd4']);
    expect(r.newestCards(2).map((c) => c.device)).toEqual(['d4', 'd3']);
    const back = Roster.from('creator', structuredClone(r.toStored()), 3);
    expect(back.nameOf('d4')).toBe('D4');
    expect(back.isCreator('creator')).toBe(true);
  });
});
