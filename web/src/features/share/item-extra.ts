/**
 * What other features add to each shared item (the inbox's mark, say), composed by the page:
 * features do not import one another, so the session page provides it here.
 */
import { createContext, type ReactNode } from 'react';
import type { Item } from '../../lib/room/room-client';

export const ItemExtra = createContext<(item: Item, label: string) => ReactNode>(() => null);
