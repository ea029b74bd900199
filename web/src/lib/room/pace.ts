/**
 * When a receiver's silence means something: how long an item may go without a new chunk
 * before its receiver asks the sender again. A fixed wait asks too early on a slow link (a
 * 256 KiB chunk takes 4 s to cross one of 0.5 Mbit/s), and an ask has the sender send again
 * everything still on its way to us: up to the relay's queue for us, megabytes. So the wait
 * follows the gaps between the item's chunks as they came, as TCP's retransmission timer
 * follows its round trips.
 */

/** The shortest silence that counts: at full speed, chunks come milliseconds apart. */
export const STALL_MS = 4000;
/** A silence is this many of the item's usual gaps between two chunks. */
export const STALL_GAPS = 3;
/**
 * The longest wait before asking, however slow the chunks came, so that a page still says
 * within seconds that its sender went quiet. Also the wait before an item's first chunk, when
 * nothing says how fast they come: the first queues behind what the relay still sends us,
 * then crosses the link, seconds on a slow one.
 */
export const LONGEST_STALL_MS = 10_000;
/** The newest gap's weight in the usual gap (an exponential average, as TCP's smoothed RTT). */
const NEWEST_GAP = 1 / 8;

export interface ChunkPace {
  /** When the last chunk came, or the item started or went on. */
  lastChunk: number;
  /** When the sender was last asked. */
  lastAsk: number;
  /** The usual gap between two chunks, once one has come. */
  gap?: number;
}

export function newPace(now: number): ChunkPace {
  return { lastChunk: now, lastAsk: now };
}

/**
 * A chunk came at `now`. A gap with an ask in it (a pause, a sender gone and back) says
 * nothing of the link, and is left out of the usual gap.
 */
export function chunkCame(pace: ChunkPace, now: number) {
  if (pace.lastAsk <= pace.lastChunk) {
    const gap = now - pace.lastChunk;
    pace.gap = pace.gap === undefined ? gap : pace.gap + NEWEST_GAP * (gap - pace.gap);
  }
  pace.lastChunk = now;
}

/** The item goes on (asked for again, or taken up after a stop): its silence counts from now. */
export function restarted(pace: ChunkPace, now: number) {
  pace.lastChunk = now;
}

/** How long it has been silent at `now`: since its last chunk or ask, whichever came later. */
export function quietFor(pace: ChunkPace, now: number): number {
  return now - Math.max(pace.lastChunk, pace.lastAsk);
}

/**
 * How long a silence must last before the sender is asked; once asked, STALL_MS more without
 * an answer is a silence again (the receiver then says the item is paused).
 */
export function stallAfter(pace: ChunkPace): number {
  if (pace.lastAsk > pace.lastChunk) return STALL_MS;
  if (pace.gap === undefined) return LONGEST_STALL_MS;
  return Math.min(LONGEST_STALL_MS, Math.max(STALL_MS, STALL_GAPS * pace.gap));
}
