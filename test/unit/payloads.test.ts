import test from 'ava';
import { decodeRaw, encodeRaw } from '../../src/queue/payloads.js';

// job data goes to Redis as JSON: every case goes through JSON.stringify/parse as BullMQ does
const viaJson = (raw: Buffer) => JSON.parse(JSON.stringify(encodeRaw(raw))) as ReturnType<typeof encodeRaw>;

test('7-bit mail travels as rawAscii (no base64), every ASCII byte intact through JSON', (t) => {
  const all = Buffer.from(Array.from({ length: 128 }, (_, i) => i)); // NUL, CR, LF, quotes, backslash, DEL
  const mail = Buffer.from('From: a@example.org\r\nSubject: "quoted" \\ back\r\n\r\n.\r\nline\r\n');
  for (const raw of [all, mail, Buffer.alloc(0)]) {
    const data = viaJson(raw);
    t.is(typeof data.rawAscii, 'string');
    t.is(data.rawBase64, undefined);
    t.true(decodeRaw(data)!.equals(raw));
  }
  t.true(JSON.stringify(encodeRaw(mail)).length < JSON.stringify({ rawBase64: mail.toString('base64') }).length);
});

test('any byte above 0x7F makes it base64, byte-exact (8BITMIME UTF-8, Latin-1, invalid UTF-8)', (t) => {
  for (const raw of [
    Buffer.from('Subject: héllo ✓\r\n\r\nbody\r\n'),
    Buffer.from([0x41, 0xe9, 0x0d, 0x0a]),
    Buffer.from([0xff, 0xfe, 0x00, 0x80]),
  ]) {
    const data = viaJson(raw);
    t.is(data.rawAscii, undefined);
    t.is(typeof data.rawBase64, 'string');
    t.true(decodeRaw(data)!.equals(raw));
  }
});

test('decodeRaw: jobs of an older ingress (rawBase64 only) are read; a job with neither field is undefined', (t) => {
  t.is(decodeRaw({ rawBase64: Buffer.from('old format').toString('base64') })!.toString(), 'old format');
  t.is(decodeRaw({}), undefined);
});
