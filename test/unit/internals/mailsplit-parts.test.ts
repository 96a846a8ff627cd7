import test from 'ava';
import { Splitter } from '@zone-eu/mailsplit';
import { simpleParser } from 'mailparser';
import { isAttachmentNode, locateAttachments } from '../../../src/pipeline/part-locations.js';

// docs/internals.md, row "mailsplit chunks / mailparser attachment rule": src/pipeline/part-locations.ts records
// where each attachment lies in the raw message by walking mailsplit's Splitter as mailparser does.
const ROW = 'internals.md row "mailsplit chunks / mailparser attachment rule" (src/pipeline/part-locations.ts)';

const raw = Buffer.from(
  [
    'Subject: s',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    'preamble',
    '--b',
    'Content-Type: text/plain',
    '',
    'text',
    '--b',
    'Content-Type: image/png',
    'Content-Transfer-Encoding: base64',
    '',
    'iVBORw0KGgo=',
    '--b',
    'Content-Type: text/plain',
    'Content-Disposition: attachment; filename=a.txt',
    '',
    'file',
    '--b--',
    'epilogue',
    '',
  ].join('\r\n'),
);

interface Chunk {
  type: string;
  value?: Buffer;
  getHeaders?: () => Buffer;
  partNr?: unknown;
  encoding?: unknown;
}

test('the Splitter’s chunks (node headers, bodies, the rest) add up to the raw bytes, in order', async (t) => {
  const splitter = new Splitter();
  const pieces: Buffer[] = [];
  const nodes: Chunk[] = [];
  const done = new Promise((resolve) => (splitter as unknown as NodeJS.EventEmitter).once('end', resolve));
  splitter.on('data', (c: Chunk) => {
    if (c.type === 'node') {
      nodes.push(c);
      pieces.push(c.getHeaders!());
    } else pieces.push(c.value!);
  });
  splitter.end(raw);
  await done;
  t.deepEqual(Buffer.concat(pieces), raw, `${ROW}: the chunks are not the raw bytes any more`);
  t.deepEqual(
    nodes.map((n) => [n.partNr, n.encoding]),
    [
      [['TEXT'], ''],
      [[1], ''],
      [[2], 'base64'],
      [[3], ''],
    ],
    `${ROW}: node part numbers / encodings`,
  );
  t.deepEqual(
    nodes.map((n) => isAttachmentNode(n as Parameters<typeof isAttachmentNode>[0])),
    [false, false, true, true],
    `${ROW}: attachment rule`,
  );
});

test('mailparser’s attachments carry partId and headers; the walk matches them one for one', async (t) => {
  const parsed = await simpleParser(raw);
  t.deepEqual(
    parsed.attachments.map((a) => a.partId),
    ['2', '3'],
    `${ROW}: mailparser attachment.partId`,
  );
  const parts = await locateAttachments(raw, parsed.attachments, 5_000);
  t.is(parts?.length, 2, `${ROW}: the walk no longer matches mailparser's attachments`);
  t.is(raw.subarray(parts![1]!.start, parts![1]!.end).toString(), 'file', `${ROW}: body offsets`);
});
