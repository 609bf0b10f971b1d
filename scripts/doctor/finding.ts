/** One line of the doctor's report. */
export type Level = "ok" | "warn" | "FAIL";

export interface Finding {
  level: Level;
  subject: string;
  text: string;
  /** Further lines, such as one per open line. */
  lines?: string[];
}
