/**
 * The raw bytes the SMTP ingress holds at once (SMTP_MAX_DATA_BYTES_IN_FLIGHT, issue 24 item 6): a message's bytes
 * count from its first DATA chunk until its enqueue has answered (the ingress holds several copies of a message while
 * it is written to Redis). Without a bound, SMTP_MAX_CLIENTS sessions could each hold MAX_MESSAGE_BYTES at once.
 *
 * A chunk that does not fit beside what the other sessions hold is refused, and the session's message with it:
 * collect-message.ts drops what it collected, discards the rest of the DATA and the client gets 452 4.3.1 (try again
 * later). A message that holds everything held (it is alone) always fits, so a message larger than the budget is
 * taken when nothing else is in flight, as in the worker's byte budget.
 */
export interface DataBudget {
  /** `bytes` more for a message that already holds `own`: true if taken, false if they do not fit */
  take(bytes: number, own: number): boolean;
  /** give back `bytes` taken earlier */
  release(bytes: number): void;
  /** bytes held now */
  readonly held: number;
}

/** `onChange`: the bytes held after each change (the gauge mailwright_smtp_data_bytes_in_flight) */
export function createDataBudget(maxBytes: number, onChange: (held: number) => void = () => {}): DataBudget {
  let held = 0;
  return {
    take(bytes, own) {
      if (held + bytes > maxBytes && held > own) return false;
      held += bytes;
      onChange(held);
      return true;
    },
    release(bytes) {
      held -= bytes;
      onChange(held);
    },
    get held() {
      return held;
    },
  };
}
