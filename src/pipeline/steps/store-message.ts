import { newUlid as ulid } from '../../core/ids.js';
import { Dropped } from '../dropped.js';
import { fallbackParse, type ParsedMessage } from '../parse.js';
import { deliveryKey, type Step, type Stored, type WithParsed } from '../context.js';

/** PostgreSQL refused a value (SQLSTATE class 22, "data exception": out-of-range date, bad encoding, ...). */
const dataException = (err: unknown): err is Error & { code: string } =>
  typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('22');

/**
 * (5) the only write: one atomic statement, idempotent on (mailbox, ingress id) (see
 * src/store/message-delivery.ts). An already stored delivery is reported as a duplicate; otherwise the
 * mailbox row is locked (next sequence number + quota, conditional on active/unexpired/under quota) and
 * the message inserted; a concurrent twin that inserts first makes ours a no-op and is reported instead.
 * If PostgreSQL refuses one of the parsed values (a data exception, which no retry would change), the message
 * is stored as the parser's fallback stores it: headers, raw bytes and a note in `parse_error`. Accepted mail
 * is never lost to a value the parser let through.
 */
export const storeMessage: Step<WithParsed, Stored> = async (d, { stores, log, config }) => {
  const write = (parsed: ParsedMessage) =>
    stores.messages.deliver(
      {
        id: ulid(),
        mailboxId: d.mailbox.id,
        ingressId: deliveryKey(d),
        tag: d.tag,
        source: d.job.source,
        envelopeFrom: d.job.envelope.from,
        envelopeTo: d.job.envelope.to,
        ...parsed,
        raw: d.raw,
        receivedAt: new Date(d.job.receivedAt),
      },
      { maxMessages: d.plan.maxMessagesPerMailbox },
    );
  let parsed = d.parsed;
  let r;
  try {
    r = await write(parsed);
  } catch (err) {
    if (!dataException(err)) throw err;
    log.warn({ event: 'inbound.fields_refused', recipient: d.recipient, sqlstate: err.code, reason: err.message });
    parsed = fallbackParse(
      d.raw,
      `stored without parsed fields: the database refused one (${err.code}: ${err.message})`,
      config.parse,
    );
    r = await write(parsed);
  }
  if (r.status === 'refused') throw new Dropped(r.reason, d.mailbox.id, `not stored: ${r.reason}`);
  return {
    ...d,
    parsed,
    messageId: r.id,
    seq: r.seq,
    duplicate: r.status === 'duplicate',
    ...(r.status === 'stored' && r.webhookDeliveryId ? { webhookDeliveryId: r.webhookDeliveryId } : {}),
  };
};
