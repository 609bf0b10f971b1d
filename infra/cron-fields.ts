/**
 * EventBridge cron fields, checked at synth so a wrong value fails `cdk synth` rather than the deploy:
 * minutes, hours, day-of-month, month, day-of-week, year, with the wildcards , - * / ? L W #
 * (EventBridge User Guide, "Cron expressions").
 */
interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Special forms this field allows besides values, ranges, lists and increments. */
  special?: RegExp;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: readonly Field[] = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  // ?, L (last day), LW (last weekday), nW (weekday nearest n).
  { name: "day-of-month", min: 1, max: 31, special: /^(\?|L|LW|([1-9]|[12][0-9]|3[01])W)$/ },
  { name: "month", min: 1, max: 12, names: MONTHS },
  // ?, L, nL (last such day of the month), n#k (k-th such day).
  {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: DAYS,
    special: /^(\?|L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/,
  },
  { name: "year", min: 1970, max: 2199 },
];

/** One message per field that EventBridge would refuse; empty when all six are valid. */
export function cronFieldProblems(fields: readonly string[]): string[] {
  return FIELDS.flatMap((field, index) => {
    const value = fields[index] ?? "";
    if (field.special?.test(value)) return [];
    const bad = value.split(",").find((part) => !validPart(part, field));
    return bad === undefined
      ? []
      : [
          `${field.name} "${value}" is not valid: use ${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : ""}, *, lists, ranges or increments`,
        ];
  });
}

function validPart(part: string, field: Field): boolean {
  const [range = "", step, ...rest] = part.split("/");
  if (rest.length > 0) return false;
  if (step !== undefined && !(/^[0-9]+$/.test(step) && Number(step) >= 1 && Number(step) <= field.max))
    return false;
  if (range === "*") return true;
  const bounds = range.split("-");
  if (bounds.length > 2) return false;
  const values = bounds.map((bound) => fieldValue(bound, field));
  if (values.some((value) => value === undefined)) return false;
  return (
    values.length === 1 || (values[0] as number) <= (values[1] as number) || field.name === "day-of-week"
  );
}

function fieldValue(text: string, field: Field): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^[0-9]{1,4}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= field.min && value <= field.max ? value : undefined;
}

const ZONES = new Set(Intl.supportedValuesOf("timeZone"));

/** An IANA time zone this Node knows: canonical names, plus aliases such as UTC or US/Eastern. */
export function isKnownTimeZone(zone: string): boolean {
  if (ZONES.has(zone)) return true;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return /^[A-Za-z]/.test(zone);
  } catch {
    return false;
  }
}
