import { normalizeAddress, splitTag } from '../core/address.js';
import { QUEUE } from './names.js';

/**
 * The inbound queue is INBOUND_SHARDS queues (`inbound` when there is one; `inbound-0` … `inbound-<N-1>` otherwise),
 * each with its own hash tag on a cluster (queue/factory.ts), so inbound work spreads over the masters.
 *
 * A recipient goes to the shard of its mailbox's address: the recipient normalized and without its tag
 * (`Box+signup@D` → `box@d`), exactly the address the worker looks the mailbox up by. The ingress knows no mailbox
 * ids (it never reads Postgres), but one address is one mailbox, so all mail of a mailbox goes through one shard
 * and is taken in the order it was queued, as with a single queue.
 */
export const inboundShardName = (shard: number, shards: number) =>
  shards === 1 ? QUEUE.inbound : `${QUEUE.inbound}-${shard}`;

/** FNV-1a (32 bit) of the mailbox address, modulo the shard count: stable across processes and releases. */
export function shardOf(recipient: string, shards: number, tagSeparator: string | null): number {
  if (shards === 1) return 0;
  const key = splitTag(normalizeAddress(recipient), tagSeparator).address;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** The recipients of one message grouped by shard (a message to mailboxes of two shards becomes two jobs). */
export function groupByShard(recipients: string[], shards: number, tagSeparator: string | null): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const r of recipients) {
    const s = shardOf(r, shards, tagSeparator);
    const g = groups.get(s);
    if (g) g.push(r);
    else groups.set(s, [r]);
  }
  return groups;
}
