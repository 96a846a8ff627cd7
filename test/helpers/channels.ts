import type { Redis } from 'ioredis';
import { channelNamespace, mailboxChannel } from '../../src/pubsub/events.js';
import type { System } from './system.js';

/** How many subscriber connections Redis counts on a mailbox's channel (PUBSUB NUMSUB). */
export async function channelListeners(redis: Redis, sys: System, address: string): Promise<number> {
  const box = await sys.deps.stores.mailboxes.findByAddress(address);
  if (!box) throw new Error(`no mailbox ${address}`);
  const [, n] = (await redis.pubsub('NUMSUB', mailboxChannel(channelNamespace(sys.config.redis), box.id))) as [
    string,
    number,
  ];
  return Number(n);
}

/** Poll `what` every 20 ms until it holds (true) or `ms` pass (false). */
export async function eventually(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
