import { verifyVerpAddress, type VerpCheck } from '../core/verp.js';
import type { Header } from './mime.js';

/** Where a bounce inbox's message names its VERP address: top-level headers only, in this order. */
export const VERP_HEADERS = ['delivered-to', 'x-original-to', 'envelope-to', 'to', 'cc'] as const;

export type VerpFailure = Exclude<VerpCheck, { ok: true }>['reason'];
export type VerpFound = { ok: true; id: string; address: string } | { ok: false; reason: VerpFailure };

const CANDIDATE = /bounce\+[^\s<>@,;:"()[\]]*@[A-Za-z0-9.-]+/gi;
/** Of several failures, the one that says most about the message (a forged signature over no VERP at all). */
const WEIGHT: Record<VerpFailure, number> = { not_verp: 0, no_secret: 1, malformed: 2, bad_signature: 3 };

/** Verify one address (the SMTP RCPT): ok with the outbound message id, or why not. */
export function checkVerpAddress(address: string, secrets: readonly string[]): VerpFound {
  const check = verifyVerpAddress(address, secrets);
  return check.ok ? { ok: true, id: check.id, address: address.toLowerCase() } : check;
}

/**
 * The VERP address of a message in a bounce inbox: every `bounce+…@…` in Delivered-To, X-Original-To,
 * Envelope-To, To and Cc (top-level only, never the returned message's headers), in that order; the first that
 * verifies wins. Else the weightiest reason any candidate failed with (`not_verp` when there was none).
 */
export function findVerp(headers: readonly Header[], secrets: readonly string[]): VerpFound {
  let failure: VerpFailure = 'not_verp';
  for (const name of VERP_HEADERS) {
    for (const h of headers) {
      if (h.name !== name) continue;
      for (const m of h.value.matchAll(CANDIDATE)) {
        const found = checkVerpAddress(m[0], secrets);
        if (found.ok) return found;
        if (WEIGHT[found.reason] > WEIGHT[failure]) failure = found.reason;
      }
    }
  }
  return { ok: false, reason: failure };
}
