import http from 'node:http';
import https from 'node:https';
import { HostForbidden, HostUnresolvable, resolveChecked, type HostGuard } from '../core/host-guard.js';
import { parseIp } from '../core/ip-address.js';
import { parseWebhookUrl, WebhookUrlInvalid } from '../core/webhook-url.js';
import { parseRetryAfter } from './schedule.js';

/** Read at most this much of a response (the rest is not read: the connection is closed). */
export const RESPONSE_READ_MAX_BYTES = 64 * 1024;
/** Kept of a response, for `GET …/deliveries/{id}`. */
export const RESPONSE_KEEP_BYTES = 1024;
export const USER_AGENT = 'Mailwright-Webhooks/1.0';

export interface PostResult {
  /** the HTTP status; null when none came back */
  statusCode: number | null;
  /** what went wrong, for the delivery's last_error (never a header value or a body) */
  error: string | null;
  /** the first RESPONSE_KEEP_BYTES of the response body (UTF-8, NUL removed) */
  excerpt: string | null;
  retryAfterMs?: number;
  /** the URL or its address is refused by the guard: no retry */
  refused: boolean;
  ms: number;
}

// keep-alive pools: keyed by the checked address (and the SNI name), never by the host name, so a pooled socket
// always goes to an address that was checked when it was opened
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * POST one webhook: resolve the host, check every address (the SSRF guard, core/host-guard.ts), connect to the
 * checked address with `Host` and TLS SNI/verification on the URL's host name, never follow a redirect. The whole
 * attempt (DNS, connect, request, response) is bounded by `timeoutMs`; at most RESPONSE_READ_MAX_BYTES are read.
 */
export async function postWebhook(p: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  guard: HostGuard;
}): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'ms'>): PostResult => ({ ...r, ms: performance.now() - started });
  let timer: NodeJS.Timeout | undefined;
  let request: http.ClientRequest | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), p.timeoutMs);
  });
  try {
    const target = parseWebhookUrl(p.url);
    const checked = await Promise.race([resolveChecked(p.guard, target.host), timedOut]);
    if (checked === 'timeout') return done(failure(`timeout after ${p.timeoutMs} ms (DNS)`));
    const { url } = target;
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: 'POST',
      host: checked.address,
      family: checked.family,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      headers: {
        ...p.headers,
        host: url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(p.body)),
        'user-agent': USER_AGENT,
      },
      agent: secure ? agents.https : agents.http,
      // TLS: SNI and certificate check on the URL's name (an IP literal host: checked against the IP itself)
      ...(secure && !parseIp(target.host) ? { servername: target.host } : {}),
    };
    const answer = new Promise<Omit<PostResult, 'ms'>>((resolve) => {
      const req = (secure ? https : http).request(options, (res) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let read = 0;
        const finish = () => {
          const statusCode = res.statusCode ?? null;
          const excerpt = Buffer.concat(kept).toString('utf8').replaceAll('\u0000', '');
          const retryAfterMs = parseRetryAfter(headerValue(res.headers['retry-after']));
          resolve({
            statusCode,
            error: statusCode !== null && statusCode >= 200 && statusCode < 300 ? null : `HTTP ${statusCode}`,
            excerpt: excerpt || null,
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
            refused: false,
          });
        };
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (keptBytes < RESPONSE_KEEP_BYTES) {
            const part = chunk.subarray(0, RESPONSE_KEEP_BYTES - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (read >= RESPONSE_READ_MAX_BYTES) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', finish);
      });
      request = req;
      req.on('error', (err: NodeJS.ErrnoException) => resolve(failure(describe(err))));
      req.end(p.body);
    });
    const r = await Promise.race([answer, timedOut]);
    if (r === 'timeout') {
      request?.destroy();
      return done(failure(`timeout after ${p.timeoutMs} ms`));
    }
    return done(r);
  } catch (err) {
    if (err instanceof HostForbidden || err instanceof WebhookUrlInvalid)
      return done({ statusCode: null, error: `refused: ${err.message}`, excerpt: null, refused: true });
    if (err instanceof HostUnresolvable) return done(failure(err.message));
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

const failure = (error: string): Omit<PostResult, 'ms'> => ({ statusCode: null, error, excerpt: null, refused: false });
const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const describe = (err: NodeJS.ErrnoException) =>
  err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? `: ${err.message}` : ''}` : err.message;
