// @vitest-environment happy-dom
/**
 * What a progress update renders: the item's bar and numbers, nothing else. Progress arrives
 * twice a second per transfer, and each re-rendered Chakra component costs a style pass; on a
 * receiving browser that was CPU taken from the transfer itself.
 */
import { ChakraProvider, defaultSystem } from '@chakra-ui/react';
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, expect, test, vi } from 'vitest';
import { RoomContext } from '../../../hooks/use-room';
import type { Item, RoomClient, RoomState } from '../../../lib/room/room-client';
import { Store } from '../../../lib/room/store';
import { ContentList } from './content-list';

const renders = vi.hoisted(() => ({ cards: 0, clearAll: 0 }));

// Each item card names its item once per render; the clear button is the list's heavy chrome.
vi.mock('../item-label', async (real) => {
  const mod = await real<typeof import('../item-label')>();
  return { itemLabel: (item: Item) => (renders.cards++, mod.itemLabel(item)) };
});
vi.mock('./clear-all-button', async (real) => {
  const mod = await real<typeof import('./clear-all-button')>();
  return { ClearAllButton: (props: Parameters<typeof mod.ClearAllButton>[0]) => (renders.clearAll++, mod.ClearAllButton(props)) };
});

afterEach(cleanup);

const item = (id: string, p: Partial<Item>): Item => ({
  id,
  from: 'peer',
  senderName: 'Phone',
  mine: false,
  kind: 'file',
  name: `${id}.bin`,
  mime: 'application/octet-stream',
  size: 800,
  createdAt: 1,
  state: 'receiving',
  transferred: 0,
  bytesPerSecond: 0,
  ...p,
});

test('a progress update re-renders the bar and the numbers only', async () => {
  const store = new Store<RoomState>({
    sessionId: 'family',
    clientName: 'Laptop',
    selfId: 'me',
    status: 'connected',
    members: [],
    items: [item('big', {}), item('done', { state: 'done', createdAt: 0 })],
    cryptoBackend: 'webcrypto',
    arrivals: 0,
    inbox: null,
    format: 2,
    storage: null,
    clearing: { mayClear: true, anyoneMayClear: true, creator: false },
  });
  const room = { store } as unknown as RoomClient;
  render(
    <ChakraProvider value={defaultSystem}>
      <RoomContext.Provider value={room}>
        <ContentList />
      </RoomContext.Provider>
    </ChakraProvider>,
  );
  const bar = await screen.findByRole('progressbar', { name: 'Receiving' });
  expect(bar.getAttribute('aria-valuenow')).toBe('0');
  const before = { ...renders };

  for (const transferred of [200, 400]) {
    const items = store.get().items;
    act(() => store.set({ ...store.get(), items: [{ ...items[0], transferred, bytesPerSecond: 100 }, items[1]] }));
  }

  expect(bar.getAttribute('aria-valuenow')).toBe('50');
  expect(screen.getByTestId('progress').textContent).toContain('Receiving · 400 B of 800 B · 100 B/s');
  expect(renders).toEqual(before);

  // A change beyond progress still renders the card (and a new count, the heading).
  act(() => store.set({ ...store.get(), items: [item('new', { createdAt: 2 }), ...store.get().items] }));
  expect(renders.cards).toBe(before.cards + 1);
  expect(renders.clearAll).toBe(before.clearAll + 1);
});
