/** Random ids that work outside secure contexts too (`crypto.randomUUID` needs one). */
import { toHex } from '../crypto/format';

export const newContentId = (): string => toHex(crypto.getRandomValues(new Uint8Array(16)));
