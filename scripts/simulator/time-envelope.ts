/**
 * The `time` block Bitrix24 adds to every successful answer (limits.md, data-types.md#time).
 * Seconds are floats, dates are PHP's `c` format.
 */

export interface CommandTime {
  start: number;
  finish: number;
  duration: number;
  processing: number;
  date_start: string;
  date_finish: string;
}

export interface TimeEnvelope extends CommandTime {
  /** When part of the method's operating-time budget is released (Unix seconds). */
  operating_reset_at: number;
  /** Seconds of the method's operating-time budget used; the simulator never spends any. */
  operating: number;
}

const OPERATING_WINDOW_SECONDS = 600;

/** The entry of one command in a batch's `result_time` (the batch page shows no operating fields). */
export function commandTime(startMs: number, finishMs: number): CommandTime {
  const duration = Math.max(0, finishMs - startMs) / 1000;
  return {
    start: startMs / 1000,
    finish: finishMs / 1000,
    duration,
    processing: duration,
    date_start: phpDate(startMs),
    date_finish: phpDate(finishMs),
  };
}

export function timeEnvelope(startMs: number, finishMs: number): TimeEnvelope {
  return {
    ...commandTime(startMs, finishMs),
    operating_reset_at: Math.floor(startMs / 1000) + OPERATING_WINDOW_SECONDS,
    operating: 0,
  };
}

/** `2024-08-29T10:34:19+00:00` */
function phpDate(ms: number): string {
  const date = new Date(Number.isFinite(ms) ? ms : 0);
  return `${date.toISOString().slice(0, 19)}+00:00`;
}
