import { signTrackingToken } from '../core/tracking-token.js';
import { rewriteTrackedHtml } from '../extract/tracking.js';
import type { HtmlContext } from './render.js';

/**
 * Issue 22's tracking, plugged into the renderer's `transformHtml` hook: with `track_opens` a pixel
 * `{base}/t/o/{token}`, with `track_clicks` every http(s) `<a href>` through `{base}/t/c/{token}` (the token carries
 * the destination). `base` is PUBLIC_URL, else the web role's local address.
 */
export function trackingTransform(secret: string, base: string): (html: string, ctx: HtmlContext) => string {
  const root = base.replace(/\/+$/, '');
  return (html, ctx) =>
    rewriteTrackedHtml(html, {
      openUrl: ctx.trackOpens ? `${root}/t/o/${signTrackingToken(secret, 'open', ctx.outboundMessageId)}` : undefined,
      clickUrl: ctx.trackClicks
        ? (url) => `${root}/t/c/${signTrackingToken(secret, 'click', ctx.outboundMessageId, url)}`
        : undefined,
    });
}
