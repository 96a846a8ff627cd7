import { spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * Run a fixture (`node --import tsx <file>`) to its end with only PATH and `env` in its environment;
 * its exit code and its stdout as JSON lines (read to the end: 'close', not 'exit'), stderr passed through.
 */
export async function runFixture<L = Record<string, unknown>>(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; lines: L[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return {
    code,
    lines: out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as L),
  };
}
