import { MessageTooLarge } from '../../core/errors.js';

/** The part of smtp-server's connection this helper changes: the method every reply goes through. */
export interface ReplySender {
  send(code: number, data?: string | string[] | null, context?: string | false): void;
}

const tooLarge = new MessageTooLarge('declared size over the limit');
const ENHANCED = /^5\.\d{1,3}\.\d{1,3} /;

/**
 * The text of a reply as sent: a 552 without an enhanced status code becomes `5.3.4 Message size exceeds fixed
 * maximum message size`, the text of a message found too large while it is received. Every other reply, and a
 * 552 that has its code already (our own, from MessageTooLarge), is unchanged.
 */
export function sizeReplyText<T>(code: number, data: T): T | string {
  return code === 552 && typeof data === 'string' && !ENHANCED.test(data) ? tooLarge.smtp.text : data;
}

/**
 * smtp-server refuses a `MAIL FROM … SIZE=` above the limit itself (the `size` option, also advertised in the
 * EHLO), with `552` and no enhanced status code: it adds codes only when they are on for every reply, and ours are
 * part of our texts. Called on each new connection, this gives that one reply our `552 5.3.4 …`.
 */
export function withSizeReplyCode(connection: ReplySender): void {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => send(code, sizeReplyText(code, data), context);
}
