import type { KeyObject } from 'node:crypto';
import { Unavailable } from '../../core/errors.js';
import { precheck, publicKeyOf, signatureMatches, SnsRejected, type SnsMessage } from './verify-sns.js';

/**
 * GET a URL and resolve with the body text. Only ever called with URLs that passed the SNS host rules
 * in verify-sns.ts. Production: https-get.ts; tests inject one that serves a locally generated certificate.
 */
export type SnsFetch = (url: URL) => Promise<string>;

interface Entry {
  key: KeyObject;
  notAfter: Date;
}

/**
 * Verifies SNS messages: topic allow-list, signature version and URL rules first (no network), then the
 * signing certificate (fetched once per URL, kept in a bounded LRU; concurrent misses share one fetch),
 * then the RSA signature. Throws SnsRejected (403) for anything that is not provably from SNS, and
 * Unavailable (503, SNS retries) when Amazon's certificate host could not be reached.
 */
export function createSnsVerifier(opts: {
  topicArns: readonly string[];
  fetch: SnsFetch;
  cacheSize: number;
  now?: () => Date;
}) {
  const topics = new Set(opts.topicArns);
  const now = opts.now ?? (() => new Date());
  const cache = new Map<string, Promise<Entry>>();

  const certificate = (url: URL): Promise<Entry> => {
    const key = url.href;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit); // most recently used last
      return hit;
    }
    const loading = opts.fetch(url).then(
      (pem) => publicKeyOf(pem, now()),
      (err: unknown) => {
        // the SNS host said the certificate does not exist: forged. Anything else (network, 5xx): retry later.
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number' && status >= 400 && status < 500)
          throw new SnsRejected('certificate_not_found', `signing certificate answered ${status}`);
        throw new Unavailable('could not fetch the SNS signing certificate', { cause: err });
      },
    );
    cache.set(key, loading);
    loading.catch(() => {
      if (cache.get(key) === loading) cache.delete(key);
    });
    while (cache.size > opts.cacheSize) cache.delete(cache.keys().next().value as string);
    return loading;
  };

  return {
    topics,
    async verify(m: SnsMessage): Promise<void> {
      const { certUrl, digest } = precheck(m, topics);
      const entry = await certificate(certUrl);
      if (now() > entry.notAfter) {
        cache.delete(certUrl.href);
        throw new SnsRejected('bad_certificate', 'signing certificate has expired');
      }
      if (!signatureMatches(m, digest, entry.key))
        throw new SnsRejected('bad_signature', 'signature does not match the message');
    },
    cachedCertificates: () => cache.size,
  };
}

export type SnsVerifier = ReturnType<typeof createSnsVerifier>;
