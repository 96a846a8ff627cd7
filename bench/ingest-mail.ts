import { bodyOf, subjectOf } from './ingest-smtp-client.js';

// The benchmark's mail: realistic presets (issue 23). Each preset is a fixed body (built once per process, so the
// load generator spends its CPU on sending, not on building) under per-message headers with a unique Subject.

/** the presets of the load generator; `text` is the 2 KB text/plain message of every earlier benchmark page */
export const PRESETS = ['text', 'html', 'related', 'pdf', 'mix'] as const;
export type Preset = (typeof PRESETS)[number];

export const PRESET_LABEL: Record<Preset, string> = {
  text: '2 KB text/plain',
  html: '50 KB HTML multipart/alternative',
  related: '200 KB HTML + 2 inline images (multipart/related)',
  pdf: '1 MB with a PDF attachment',
  mix: 'mix: 60 % 50 KB HTML, 30 % 2 KB text, 10 % 1 MB PDF',
};

/** deterministic bytes that do not compress (as PNG and PDF streams do not): xorshift32 */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** base64 in 76-character CRLF lines (as mail clients write it) */
const base64Lines = (b: Buffer) => `${(b.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n`;

/** quoted-printable of ASCII text: `=` escaped, soft breaks at 76 characters, dots never first on a line */
function quotedPrintable(s: string): string {
  const out: string[] = [];
  for (const line of s.split('\n')) {
    let l = line.replace(/=/g, '=3D');
    while (l.length > 75) {
      // never split an =XX escape
      let cut = 75;
      const eq = l.lastIndexOf('=', cut - 1);
      if (eq > cut - 3) cut = eq;
      out.push(`${l.slice(0, cut)}=`);
      l = l.slice(cut);
    }
    out.push(l);
  }
  return out.map((l) => (l.startsWith('.') ? `=2E${l.slice(1)}` : l)).join('\r\n');
}

/**
 * A sign-up/notification page as senders build it: a table layout, inline CSS on every element, tracked links,
 * a one-time code. Rows are added until the HTML is about `chars` long.
 */
function htmlPage(chars: number, images: string[] = []): { html: string; text: string } {
  const td =
    'style="padding:12px 24px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333"';
  const head =
    '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">' +
    '<meta name="viewport" content="width=device-width"><title>Confirm your account</title>' +
    '<style>body{margin:0;padding:0}a{color:#1a73e8}.btn{display:inline-block;padding:12px 20px;background:#1a73e8;color:#fff;border-radius:4px}</style>' +
    '</head><body style="margin:0;padding:0;background:#f4f4f4">\n' +
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4"><tr><td align="center">\n' +
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;border:1px solid #e0e0e0">\n' +
    images
      .map((cid) => `<tr><td ${td}><img src="cid:${cid}" width="560" alt="banner" style="display:block"></td></tr>\n`)
      .join('') +
    `<tr><td ${td}><h1 style="font-size:22px;margin:0 0 12px">Welcome to Example</h1>Your verification code is <b style="font-size:20px;letter-spacing:2px">482913</b>. It expires in 10 minutes.</td></tr>\n` +
    `<tr><td ${td}><a class="btn" href="https://app.example.com/verify?token=5f2b9c1e8a7d4f3b&amp;utm_source=email&amp;utm_medium=signup" style="display:inline-block;padding:12px 20px;background:#1a73e8;color:#ffffff;text-decoration:none;border-radius:4px">Confirm your email</a></td></tr>\n`;
  const tail =
    `<tr><td ${td}><p style="font-size:12px;color:#888888">You received this because you signed up at Example. <a href="https://app.example.com/unsubscribe?u=42&amp;list=signup" style="color:#888888">Unsubscribe</a> · <a href="https://example.com/privacy" style="color:#888888">Privacy</a></p></td></tr>\n` +
    '</table></td></tr></table></body></html>\n';
  const rows: string[] = [];
  const textRows: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; size < chars; i++) {
    const row =
      `<tr><td ${td}><p style="margin:0 0 8px"><strong style="color:#111111">Tip ${i + 1}:</strong> ` +
      `Set up your workspace, invite your team and connect your tools. Read the <a href="https://docs.example.com/guide/${i}?utm_source=email&amp;utm_campaign=onboarding" style="color:#1a73e8;text-decoration:underline">getting started guide, part ${i + 1}</a> ` +
      `or browse <a href="https://example.com/templates?page=${i}" style="color:#1a73e8">templates</a>.</p></td></tr>\n`;
    rows.push(row);
    textRows.push(
      `Tip ${i + 1}: Set up your workspace, invite your team and connect your tools. Read the getting started guide, part ${i + 1}: https://docs.example.com/guide/${i}?utm_source=email&utm_campaign=onboarding`,
    );
    size += row.length;
  }
  const text =
    'Welcome to Example\n\nYour verification code is 482913. It expires in 10 minutes.\n\n' +
    'Confirm your email: https://app.example.com/verify?token=5f2b9c1e8a7d4f3b&utm_source=email&utm_medium=signup\n\n' +
    `${textRows.join('\n\n')}\n\nUnsubscribe: https://app.example.com/unsubscribe?u=42&list=signup\n`;
  return { html: head + rows.join('') + tail, text };
}

const alternative = (boundary: string, page: { html: string; text: string }) =>
  `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n` +
  `${quotedPrintable(page.text)}\r\n` +
  `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n` +
  `${quotedPrintable(page.html)}\r\n--${boundary}--\r\n`;

interface Shape {
  contentType: string;
  body: Buffer;
}

function build(preset: Exclude<Preset, 'mix'>): Shape {
  switch (preset) {
    case 'text':
      return { contentType: 'text/plain; charset=us-ascii', body: bodyOf(2048 - 300) };
    case 'html': {
      // ~9 KB text part + ~40 KB HTML part (after quoted-printable), quoted-printable: about 50 KB in all
      const b = 'mwb-alt-5f2b9c1e';
      return {
        contentType: `multipart/alternative; boundary="${b}"`,
        body: Buffer.from(alternative(b, htmlPage(34_000)), 'latin1'),
      };
    }
    case 'related': {
      const [r, a] = ['mwb-rel-8a7d4f3b', 'mwb-alt-8a7d4f3c'];
      const image = (cid: string, seed: number) =>
        `--${r}\r\nContent-Type: image/png; name="${cid}.png"\r\nContent-Transfer-Encoding: base64\r\n` +
        `Content-ID: <${cid}>\r\nContent-Disposition: inline; filename="${cid}.png"\r\n\r\n${base64Lines(noise(52_000, seed))}`;
      const body =
        `--${r}\r\nContent-Type: multipart/alternative; boundary="${a}"\r\n\r\n` +
        `${alternative(a, htmlPage(39_000, ['banner@example.com', 'logo@example.com']))}\r\n` +
        `${image('banner@example.com', 7)}${image('logo@example.com', 11)}--${r}--\r\n`;
      return {
        contentType: `multipart/related; type="multipart/alternative"; boundary="${r}"`,
        body: Buffer.from(body, 'latin1'),
      };
    }
    case 'pdf': {
      const [m, a] = ['mwb-mix-3c4d5e6f', 'mwb-alt-3c4d5e70'];
      // a PDF of ~700 KB: a real header and trailer around incompressible stream bytes; ~960 KB as base64
      const pdf = Buffer.concat([
        Buffer.from(
          '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 700000 /Filter /FlateDecode >>\nstream\n',
          'latin1',
        ),
        noise(700_000, 13),
        Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1'),
      ]);
      const body =
        `--${m}\r\nContent-Type: multipart/alternative; boundary="${a}"\r\n\r\n${alternative(a, htmlPage(12_000))}\r\n` +
        `--${m}\r\nContent-Type: application/pdf; name="invoice-2026-12.pdf"\r\nContent-Transfer-Encoding: base64\r\n` +
        `Content-Disposition: attachment; filename="invoice-2026-12.pdf"\r\n\r\n${base64Lines(pdf)}--${m}--\r\n`;
      return { contentType: `multipart/mixed; boundary="${m}"`, body: Buffer.from(body, 'latin1') };
    }
  }
}

const shapes = new Map<string, Shape>();
const shapeOf = (p: Exclude<Preset, 'mix'>) => {
  let s = shapes.get(p);
  if (!s) shapes.set(p, (s = build(p)));
  return s;
};

/** the preset of message `k` of a run: the mix takes 6 HTML, 3 text, 1 PDF of every 10, spread out */
export function presetAt(preset: Preset, k: number): Exclude<Preset, 'mix'> {
  if (preset !== 'mix') return preset;
  return (['html', 'text', 'html', 'html', 'text', 'html', 'pdf', 'html', 'text', 'html'] as const)[k % 10]!;
}

/** one message of a preset, dot-stuffed (no line of these bodies starts with a dot) and ending with CRLF */
export function presetMessage(
  preset: Exclude<Preset, 'mix'>,
  tag: string,
  conn: number,
  i: number,
  to: string,
): Buffer {
  const s = shapeOf(preset);
  const head =
    'From: Example <no-reply@example.com>\r\n' +
    `To: <${to}>\r\n` +
    `Subject: ${subjectOf(tag, conn, i)}\r\n` +
    `Message-ID: <${tag}.${conn}.${i}@load.test>\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    'MIME-Version: 1.0\r\n' +
    `Content-Type: ${s.contentType}\r\n` +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), s.body]);
}

/** the approximate size of a preset's messages (the mix: its average), for the printed figures */
export function presetBytes(preset: Preset): number {
  if (preset !== 'mix') return shapeOf(preset).body.length + 250;
  let total = 0;
  for (let k = 0; k < 10; k++) total += presetBytes(presetAt('mix', k));
  return total / 10;
}
