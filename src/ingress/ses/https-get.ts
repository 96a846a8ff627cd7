import type { SnsFetch } from './sns-verifier.js';

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    host: string,
  ) {
    super(`GET https://${host}/… answered ${status}`);
    this.name = 'HttpStatusError';
  }
}

/**
 * The production SnsFetch: a plain GET over https with a deadline, no redirects (a redirect could
 * leave the SNS host) and a bounded body. Callers have already checked the URL against the SNS rules;
 * the https check here is a second lock on the same door.
 */
export function httpsGet(opts: { timeoutMs: number; maxBytes: number }): SnsFetch {
  return async (url) => {
    if (url.protocol !== 'https:') throw new Error('refusing a non-https fetch');
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new HttpStatusError(res.status, url.host);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > opts.maxBytes) throw new Error(`response from ${url.host} exceeds ${opts.maxBytes} bytes`);
        chunks.push(chunk);
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  };
}
