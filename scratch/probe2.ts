import { bodyOf, messageOf } from '../bench/ingest-smtp-client.js';
import { parseRaw } from '../src/pipeline/parse.js';
const raw = messageOf('x', 1, 1, 'a@bench.test', bodyOf(1750));
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  for (let i = 0; i < 200; i++) await parseRaw(raw, 20000);
  console.log('sequential parse ms/msg', ((performance.now() - t) / 200).toFixed(2));
  t = performance.now();
  await Promise.all(Array.from({ length: 200 }, () => parseRaw(raw, 20000)));
  console.log('parallel parse ms/msg', ((performance.now() - t) / 200).toFixed(2));
}
