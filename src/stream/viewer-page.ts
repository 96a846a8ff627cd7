import type { Context } from 'koa';

/**
 * GET /streams/viewer#address=<address>&token=<token>: a dependency-free page that follows a mailbox
 * live with EventSource. The credential stays in the URL fragment (never sent to the server or logged)
 * and travels only on the EventSource URL as ?token=.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mailwright live mailbox</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}li{margin:.3rem 0}#status{color:#555}</style></head>
<body><h1>Live mailbox <span id="address"></span></h1><p id="status">connecting</p><ul id="messages"></ul>
<script src="/streams/viewer.js"></script></body></html>`;

const SCRIPT = `(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  const address = params.get('address') || '';
  const status = document.getElementById('status');
  const list = document.getElementById('messages');
  document.getElementById('address').textContent = address;
  window.mailwrightEvents = [];
  const url = '/api/v1/mailboxes/' + encodeURIComponent(address) + '/events?token=' + encodeURIComponent(params.get('token') || '');
  const source = new EventSource(url);
  source.addEventListener('ready', (e) => { status.textContent = 'live from cursor ' + JSON.parse(e.data).cursor; });
  source.addEventListener('new_message', (e) => {
    const frame = JSON.parse(e.data);
    window.mailwrightEvents.push(frame);
    const li = document.createElement('li');
    li.textContent = frame.cursor + ': ' + (frame.message.subject || '(no subject)') + ' from ' + (frame.message.from_address || '?');
    list.append(li);
  });
  source.addEventListener('mailbox_expired', () => { status.textContent = 'mailbox expired'; source.close(); });
  source.addEventListener('token_revoked', () => { status.textContent = 'token revoked'; source.close(); });
  source.addEventListener('token_expired', () => { status.textContent = 'token expired'; source.close(); });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) status.textContent = 'closed'; else status.textContent = 'reconnecting'; };
})();`;

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export function viewerPage(ctx: Context): void {
  ctx.set(SECURITY_HEADERS);
  ctx.type = 'text/html';
  ctx.body = PAGE;
}

export function viewerScript(ctx: Context): void {
  ctx.set(SECURITY_HEADERS);
  ctx.type = 'application/javascript';
  ctx.body = SCRIPT;
}
