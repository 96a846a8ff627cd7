import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { loadConfig } from '../../src/core/config.js';
import { parseRaw } from '../../src/pipeline/parse.js';

/**
 * The harness of the parse fast paths' differential tests (parse-simple, parse-alternative): a fast path must give
 * exactly what mailparser gives, field by field, for generated, mutated and real-world messages.
 */
const config = loadConfig({});
export const viaMailparser = (raw: Buffer) =>
  parseRaw(raw, 20_000, config.extract, config.parse, { simplePath: false });
export const viaDefault = (raw: Buffer) => parseRaw(raw, 20_000, config.extract, config.parse);

/** deterministic PRNG (mulberry32) so a failure names a reproducible case */
export const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
export const pick = <T>(r: () => number, list: readonly T[]) => list[Math.floor(r() * list.length)]!;

/** A message as nodemailer builds it (what applications under test send). */
export const build = (mail: Record<string, unknown>): Promise<Buffer> => new MailComposer(mail).compile().build();

/** The eml-format package's fixtures (sample, cc, multipart), CRLF line ends. */
export function emlCorpus(): Buffer[] {
  const pkg = dirname(createRequire(import.meta.url).resolve('eml-format/package.json'));
  return ['sample.eml', 'cc.eml', 'multipart.eml'].map((name) =>
    Buffer.from(
      readFileSync(join(pkg, 'test/fixtures', name))
        .toString('latin1')
        .replace(/\r?\n/g, '\r\n'),
      'latin1',
    ),
  );
}

/** `generated(1…1500)` parsed with and without the fast path must be equal; how many took the fast path. */
export async function generatedDifferential(
  t: ExecutionContext,
  o: { generated: (seed: number) => Buffer; takes: (raw: Buffer) => unknown; shown: number },
): Promise<number> {
  let fast = 0;
  for (let seed = 1; seed <= 1_500; seed++) {
    const raw = o.generated(seed);
    if (o.takes(raw)) fast++;
    t.deepEqual(
      await viaDefault(raw),
      await viaMailparser(raw),
      `seed ${seed}: ${JSON.stringify(raw.toString('latin1').slice(0, o.shown))}`,
    );
  }
  t.log(`fast path taken for ${fast} of 1500`);
  return fast;
}

/**
 * Generated messages mutated (characters inserted from `alphabet`, deleted, lines swapped; PARSE_FUZZ_SEED and
 * PARSE_FUZZ_CASES, e.g. 30000 before changing a fast path) never parse differently; how many took the fast path.
 */
export async function mutatedDifferential(
  t: ExecutionContext,
  o: {
    generated: (seed: number) => Buffer;
    firstSeed: number;
    seed: number;
    alphabet: string;
    takes: (raw: Buffer) => unknown;
    shown: number;
  },
): Promise<number> {
  const r = rng(Number(process.env.PARSE_FUZZ_SEED ?? o.seed));
  let fast = 0;
  const cases = Number(process.env.PARSE_FUZZ_CASES ?? 1_500);
  for (let i = 0; i < cases; i++) {
    let text = o.generated(o.firstSeed + i).toString('latin1');
    for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
      const at = Math.floor(r() * text.length);
      const kind = r();
      if (kind < 0.5) text = text.slice(0, at) + o.alphabet[Math.floor(r() * o.alphabet.length)] + text.slice(at);
      else if (kind < 0.8) text = text.slice(0, at) + text.slice(at + 1);
      else {
        const lines = text.split('\r\n');
        const k = Math.floor(r() * (lines.length - 1));
        [lines[k], lines[k + 1]] = [lines[k + 1]!, lines[k]!];
        text = lines.join('\r\n');
      }
    }
    const raw = Buffer.from(text, 'latin1');
    const taken = o.takes(raw);
    if (taken) fast++;
    const [got, want] = [await viaDefault(raw), await viaMailparser(raw)];
    if (want.sentAt && Math.abs(want.sentAt.getTime() - Date.now()) < 60_000) {
      // a mutation made the Date unreadable: mailparser used the time of parsing (two parses never agree); the
      // fast path must have left such a message to mailparser
      t.is(taken, undefined, JSON.stringify(text.slice(0, o.shown)));
      got.sentAt = want.sentAt;
    }
    t.deepEqual(got, want, JSON.stringify(text.slice(0, o.shown)));
  }
  t.log(`fast path taken for ${fast} mutated messages`);
  return fast;
}
