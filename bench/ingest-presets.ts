// The `presets` phase of `npm run bench` (issue 23): realistic mail, each preset end to end (end of DATA -> the push a
// WebSocket subscriber receives) against MailDev (its Socket.IO `newMail` push) in the same run, rounds alternating.
import type { LoadSpec } from './ingest-load.js';
import { PRESET_LABEL, PRESETS, presetBytes, type Preset } from './ingest-mail.js';
import type { PhaseOutcome } from './ingest-phases.js';
import { fmt, median } from './ingest-stats.js';

export interface PresetSettings {
  presets: Preset[];
  /** throughput rounds per preset, each system */
  repeats: number;
  /** messages per connection in a throughput round (undefined: the preset's default) */
  perConnection?: number;
  /** presets that also get the fixed offered rate */
  latency: Preset[];
  rate: number;
  rateSeconds: number;
  rateLeadInSeconds: number;
  connections: number;
}

/** 10 x 100 as the issue asks; fewer of the large ones (a round of 1,000 x 1 MB is a gigabyte in Postgres) */
const DEFAULT_PER_CONNECTION: Record<Preset, number> = { text: 100, html: 100, related: 50, pdf: 20, mix: 100 };

export interface PresetRun {
  preset: Preset;
  label: string;
  bytes: number;
  mailwright: PhaseOutcome[];
  maildev: PhaseOutcome[];
  latency?: { mailwright: PhaseOutcome; maildev: PhaseOutcome };
  /** highest VmRSS (MB) of each process while this preset ran */
  rssMb: Record<string, number>;
}

export interface PresetContext {
  spec: (perConnection: number, size: number, extra?: Partial<LoadSpec>) => LoadSpec;
  mw: (name: string, s: LoadSpec) => Promise<PhaseOutcome>;
  md: (name: string, s: LoadSpec) => Promise<PhaseOutcome>;
  show: (p: PhaseOutcome) => PhaseOutcome;
  /** push subscriptions of each system (Mailwright: a WebSocket per mailbox; MailDev: Socket.IO) */
  mwPush: LoadSpec['push'];
  mdPush: LoadSpec['push'];
  /** the Mailwright inbound queue's wait list, sampled during latency phases */
  queue: LoadSpec['queue'];
  /** highest VmRSS per process (KB) since the previous call */
  windowPeaks: () => Map<string, number>;
  log: (s: string) => void;
}

export async function runPresets(b: PresetSettings, ctx: PresetContext): Promise<PresetRun[]> {
  const out: PresetRun[] = [];
  for (const preset of b.presets) {
    const bytes = presetBytes(preset);
    const per = b.perConnection ?? DEFAULT_PER_CONNECTION[preset];
    ctx.log(`\npreset ${preset} (${PRESET_LABEL[preset]}, ~${fmt(bytes / 1024, 0)} KB): ${b.connections} x ${per}`);
    ctx.windowPeaks();
    const run: PresetRun = { preset, label: PRESET_LABEL[preset], bytes, mailwright: [], maildev: [], rssMb: {} };
    for (let i = 1; i <= b.repeats; i++) {
      const s = ctx.spec(per, bytes, { preset });
      run.mailwright.push(ctx.show(await ctx.mw(`${preset} #${i}`, { ...s, push: ctx.mwPush })));
      run.maildev.push(
        ctx.show(await ctx.md(`${preset} #${i}`, { ...ctx.spec(per, bytes, { preset }), push: ctx.mdPush })),
      );
    }
    if (b.latency.includes(preset)) {
      const ratePer = Math.ceil((b.rate * b.rateSeconds) / b.connections);
      const leadIn = Math.ceil((b.rate * b.rateLeadInSeconds) / b.connections);
      const extra = { preset, ratePerSec: b.rate, leadInPerConnection: leadIn };
      ctx.log(`  ${b.rate} msg/s offered for ${b.rateSeconds} s (after a ${b.rateLeadInSeconds} s lead-in)`);
      run.latency = {
        mailwright: ctx.show(
          await ctx.mw(`${preset} @${b.rate}/s`, {
            ...ctx.spec(ratePer, bytes, extra),
            push: ctx.mwPush,
            queue: ctx.queue,
          }),
        ),
        maildev: ctx.show(
          await ctx.md(`${preset} @${b.rate}/s`, { ...ctx.spec(ratePer, bytes, extra), push: ctx.mdPush }),
        ),
      };
    }
    run.rssMb = Object.fromEntries([...ctx.windowPeaks()].map(([k, kb]) => [k, Math.round(kb / 1024)]));
    out.push(run);
  }
  return out;
}

/** CPU ms per message of the system under test (its process tree, plus Postgres and Redis for Mailwright): no load generator */
export const systemCpu = (p: PhaseOutcome) =>
  Object.entries(p.cpu)
    .filter(([k]) => k !== 'load')
    .reduce((a, [, v]) => a + v, 0);

const best = (runs: PhaseOutcome[]) => Math.max(...runs.map((r) => r.rate));
const lowestCpu = (runs: PhaseOutcome[]) => Math.min(...runs.map(systemCpu));

/** the summary table, one line per preset; `MET`/`NOT MET` against the targets */
export function presetSummary(runs: PresetRun[], rate: number): string[] {
  const lines = [
    'preset    Mailwright msg/s (best, median) | MailDev msg/s (best, median) | ratio best | CPU ms/msg MW / MD (lowest round) | peak RSS MB',
  ];
  for (const r of runs) {
    const [mwBest, mdBest] = [best(r.mailwright), best(r.maildev)];
    const ratio = mwBest / mdBest;
    const [cpuMw, cpuMd] = [lowestCpu(r.mailwright), lowestCpu(r.maildev)];
    const rss = Object.entries(r.rssMb)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(
      `${r.preset.padEnd(9)} ${fmt(mwBest, 0)}, ${fmt(median(r.mailwright.map((x) => x.rate)), 0)} | ${fmt(mdBest, 0)}, ${fmt(median(r.maildev.map((x) => x.rate)), 0)} | ` +
        `${fmt(ratio, 2)} (>= 1.25: ${ratio >= 1.25 ? 'MET' : 'NOT MET'}) | ${fmt(cpuMw, 2)} / ${fmt(cpuMd, 2)} (<=: ${cpuMw <= cpuMd ? 'MET' : 'NOT MET'}) | ${rss}`,
    );
    if (r.latency) {
      const { mailwright: mw, maildev: md } = r.latency;
      const target = r.preset === 'text' ? 20 : 50;
      const p99 = mw.push?.p99 ?? NaN;
      lines.push(
        `          @${rate}/s end of DATA -> push: Mailwright p50 ${fmt(mw.push?.p50 ?? NaN)} / p99 ${fmt(p99)} ms (target p99 <= ${target}: ${p99 <= target ? 'MET' : 'NOT MET'}), ` +
          `queue max ${mw.queue?.max ?? 'n/a'}, at end ${mw.queue?.atEnd ?? 'n/a'}; MailDev p50 ${fmt(md.push?.p50 ?? NaN)} / p99 ${fmt(md.push?.p99 ?? NaN)} ms`,
      );
    }
  }
  return lines;
}

export const parsePresets = (v: string | undefined, def: readonly Preset[]): Preset[] => {
  const list = (v ?? def.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of list)
    if (!(PRESETS as readonly string[]).includes(p)) throw new Error(`unknown preset ${p} (${PRESETS.join(', ')})`);
  return list as Preset[];
};
