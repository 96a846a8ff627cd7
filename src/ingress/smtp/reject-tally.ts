/**
 * Per-session aggregation of `smtp.rejected` log lines. A client can repeat a refused command as often as it likes
 * (10,000 pipelined RCPT lines would be 10,000 lines): the first `perKind` refusals of one kind (stage, reply code,
 * error code) in a session are logged in full, the rest only counted, and the session's end writes one
 * `smtp.rejected_summary` line with the count of every kind. The metrics count every reply regardless.
 */

/** One kind of refusal: where it happened and what was answered. */
export interface RejectKind {
  stage: string;
  /** the SMTP reply code sent */
  reply: number;
  /** the error code (relay_denied, too_many_recipients, service_unavailable, ...) */
  code: string;
  /** warn (our side could not take it) or info (the client's request or a limit) */
  level: 'info' | 'warn';
}

export interface RejectCount extends RejectKind {
  /** refusals of this kind in the session */
  count: number;
  /** of which were logged in full */
  logged: number;
}

/** What the session's end writes, or undefined when every refusal was logged in full (nothing to add). */
export interface RejectSummary {
  total: number;
  suppressed: number;
  level: 'info' | 'warn';
  kinds: RejectCount[];
}

export interface RejectTally {
  /** onConnect */
  open(sessionId: string): void;
  /** true: log this refusal in full; false: it was counted for the summary. A session not open is logged in full. */
  admit(sessionId: string, kind: RejectKind): boolean;
  /** onClose: forget the session; the summary if any refusal was not logged in full */
  close(sessionId: string): RejectSummary | undefined;
}

export function createRejectTally(perKind: number): RejectTally {
  const sessions = new Map<string, Map<string, RejectCount>>();
  return {
    open(sessionId) {
      sessions.set(sessionId, new Map());
    },
    admit(sessionId, kind) {
      const kinds = sessions.get(sessionId);
      // a reply decided after the session closed (an enqueue that timed out late): nothing will summarize it
      if (!kinds) return true;
      const key = `${kind.stage} ${kind.reply} ${kind.code}`;
      let counted = kinds.get(key);
      if (!counted) kinds.set(key, (counted = { ...kind, count: 0, logged: 0 }));
      counted.count += 1;
      if (counted.logged >= perKind) return false;
      counted.logged += 1;
      return true;
    },
    close(sessionId) {
      const kinds = sessions.get(sessionId);
      sessions.delete(sessionId);
      if (!kinds) return undefined;
      const all = [...kinds.values()];
      const total = all.reduce((n, k) => n + k.count, 0);
      const suppressed = all.reduce((n, k) => n + k.count - k.logged, 0);
      if (suppressed === 0) return undefined;
      const level = all.some((k) => k.level === 'warn' && k.count > k.logged) ? 'warn' : 'info';
      return { total, suppressed, level, kinds: all };
    },
  };
}
