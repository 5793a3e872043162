// The LiveOne API as the frontend sees it: the WebSocket commands liveone/systems and liveone/history,
// the HTTP view /api/liveone/history (CSV), ranges and intervals, and the envelope turned into columns.

export interface Hass {
  callWS<T>(message: Record<string, unknown>): Promise<T>;
  fetchWithAuth?(path: string, init?: RequestInit): Promise<Response>;
  auth?: { data?: { access_token?: string }; accessToken?: string };
  themes?: { darkMode?: boolean };
  language?: string;
  user?: { is_admin?: boolean; name?: string };
}

export interface SystemInfo {
  system: number;
  vendor: string;
  site_id: string;
  name: string;
  entry_id: string | null;
  role: string;
  status: string;
  timezone_offset_min: number;
  first_data: string | null;
  last_data: string | null;
}

export interface SeriesHistory {
  start: string;
  last: string;
  interval: Interval;
  data: (number | null)[];
}

export interface Series {
  id: string;
  type: string;
  units: string;
  history: SeriesHistory;
}

export interface Envelope {
  created_at: string;
  data: Series[];
}

export type Interval = "5m" | "30m" | "1d";
export const INTERVALS: readonly Interval[] = ["5m", "30m", "1d"];
export const INTERVAL_SECONDS: Record<Interval, number> = { "5m": 300, "30m": 1800, "1d": 86400 };

export type RangeKey = "today" | "yesterday" | "24h" | "7d" | "30d" | "13mo" | "custom";
export const RANGES: readonly RangeKey[] = ["today", "yesterday", "24h", "7d", "30d", "13mo", "custom"];
export const RANGE_LABELS: Record<RangeKey, string> = {
  today: "Today",
  yesterday: "Yesterday",
  "24h": "24 hours",
  "7d": "7 days",
  "30d": "30 days",
  "13mo": "13 months",
  custom: "Custom",
};

const DAY = 86400;
// The store answers at most 7.5 days at 5m, 30 days at 30m and 390 days at 1d; "13 months" is the
// longest daily span it answers (390 days, about 12.8 months).
const MAX_SPAN: Record<Interval, number> = { "5m": 7.5 * DAY, "30m": 30 * DAY, "1d": 390 * DAY };

export interface RangeQuery {
  start?: string;
  end?: string;
  last?: string;
  /** The span in seconds (an upper bound for "today"). */
  span: number;
}

/** A local date (YYYY-MM-DD) of a system, `days` from today in its fixed UTC offset. */
export function localDate(offsetMin: number, days = 0, now = Date.now()): string {
  return new Date(now + offsetMin * 60000 + days * DAY * 1000).toISOString().slice(0, 10);
}

function addDays(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * DAY * 1000).toISOString().slice(0, 10);
}

/**
 * The history request of a range. Times without an offset are the system's local time (the API reads
 * them so), so "today" is the system's today wherever the browser is.
 */
export function rangeQuery(
  range: RangeKey,
  offsetMin: number,
  custom?: { from: string; to: string },
  now = Date.now(),
): RangeQuery {
  switch (range) {
    case "today":
      return { start: `${localDate(offsetMin, 0, now)}T00:00:00`, span: DAY };
    case "yesterday": {
      const today = localDate(offsetMin, 0, now);
      return { start: `${addDays(today, -1)}T00:00:00`, end: `${today}T00:00:00`, span: DAY };
    }
    case "24h":
      return { last: "24h", span: DAY };
    case "7d":
      return { last: "7d", span: 7 * DAY };
    case "30d":
      return { last: "30d", span: 30 * DAY };
    case "13mo":
      return { last: "390d", span: 390 * DAY };
    case "custom": {
      const from = custom?.from || localDate(offsetMin, -6, now);
      const to = custom?.to && custom.to >= from ? custom.to : from;
      const days = Math.round((Date.parse(to) - Date.parse(from)) / 86400000) + 1;
      return { start: `${from}T00:00:00`, end: `${addDays(to, 1)}T00:00:00`, span: days * DAY };
    }
  }
}

/** The intervals a span may be shown at (the store's limits). */
export function allowedIntervals(span: number): Interval[] {
  return INTERVALS.filter((interval) => span <= MAX_SPAN[interval]);
}

/** The interval a range is shown at unless the user picks another: 5m up to 7 days, 30m up to 30. */
export function defaultInterval(span: number): Interval {
  if (span <= 7 * DAY) return "5m";
  if (span <= 30 * DAY) return "30m";
  return "1d";
}

export async function fetchSystems(hass: Hass): Promise<SystemInfo[]> {
  const answer = await hass.callWS<{ systems: SystemInfo[] }>({ type: "liveone/systems" });
  return answer.systems;
}

export async function fetchHistory(
  hass: Hass,
  system: number,
  interval: Interval,
  query: RangeQuery,
): Promise<Envelope> {
  const message: Record<string, unknown> = { type: "liveone/history", system, interval };
  for (const key of ["start", "end", "last"] as const) {
    if (query[key] !== undefined) message[key] = query[key];
  }
  return hass.callWS<Envelope>(message);
}

/** The HTTP view's URL for the same request (format=csv for the download). */
export function historyUrl(system: number, interval: Interval, query: RangeQuery, format?: string): string {
  const params = new URLSearchParams({ system: String(system), interval });
  for (const key of ["start", "end", "last"] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  if (format) params.set("format", format);
  return `/api/liveone/history?${params.toString()}`;
}

export async function fetchCsv(hass: Hass, url: string): Promise<string> {
  let response: Response;
  if (hass.fetchWithAuth) {
    response = await hass.fetchWithAuth(url);
  } else {
    const token = hass.auth?.data?.access_token ?? hass.auth?.accessToken ?? "";
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: the body is the message
    }
    throw new Error(`The download failed (HTTP ${response.status}): ${message}`);
  }
  return text;
}

/** Words for an error of a LiveOne WebSocket command. */
export function describeError(err: unknown): string {
  const error = err as { code?: string; message?: string } | undefined;
  switch (error?.code) {
    case "not_found":
      return "This system is not there any more: it was removed, or you may no longer see it.";
    case "home_assistant_error":
      return "The LiveOne store is unavailable (its database does not answer). Try again later.";
    case "unknown_command":
      return "LiveOne is not loaded in this Home Assistant.";
    default:
      return error?.message ?? String(err);
  }
}

/** The columns of one answer: slot times (Unix seconds) and each metric's values. */
export interface Columns {
  interval: Interval;
  /** Slot ends for 5m/30m; the local midnight starting the day for 1d (Unix seconds). */
  x: number[];
  /** Local dates (YYYY-MM-DD) of 1d slots; for 5m/30m the local date each slot belongs to. */
  days: string[];
  values: Map<string, (number | null)[]>;
  units: Map<string, string>;
}

export function metricOf(seriesId: string): string {
  // liveone.<vendor>.<site>.<metric>: the site id may not hold dots, the metric does (solar.power.avg).
  return seriesId.split(".").slice(3).join(".");
}

export function columnsOf(envelope: Envelope, offsetMin: number): Columns {
  const first = envelope.data[0];
  const interval = (first?.history.interval ?? "5m") as Interval;
  const count = first?.history.data.length ?? 0;
  const x: number[] = [];
  const days: string[] = [];
  if (first) {
    if (interval === "1d") {
      const start = Date.parse(`${first.history.start}T00:00:00Z`) / 1000 - offsetMin * 60;
      for (let n = 0; n < count; n++) {
        x.push(start + n * DAY);
        days.push(addDays(first.history.start, n));
      }
    } else {
      const start = Date.parse(first.history.start) / 1000;
      const step = INTERVAL_SECONDS[interval];
      for (let n = 0; n < count; n++) {
        const end = start + n * step;
        x.push(end);
        // A slot ending at local midnight belongs to the day before.
        days.push(new Date((end - 1 + offsetMin * 60) * 1000).toISOString().slice(0, 10));
      }
    }
  }
  const values = new Map<string, (number | null)[]>();
  const units = new Map<string, string>();
  for (const series of envelope.data) {
    values.set(metricOf(series.id), series.history.data);
    units.set(metricOf(series.id), series.units);
  }
  return { interval, x, days, values, units };
}

export const FLOWS_IN = ["solar", "battery_out", "grid_in"] as const;
export const FLOWS_OUT = ["load", "battery_in", "grid_out"] as const;
export const FLOWS = [...FLOWS_IN, ...FLOWS_OUT] as const;
export const FLOW_LABELS: Record<string, string> = {
  solar: "Solar",
  battery_out: "Battery discharge",
  grid_in: "Grid import",
  load: "Load",
  battery_in: "Battery charge",
  grid_out: "Grid export",
};

export interface DayRow {
  day: string;
  kwh: Record<string, number | null>;
}

/** Each local day's energy per flow in kWh (5m/30m slots summed; null when the day has none). */
export function dayTable(columns: Columns): { rows: DayRow[]; totals: Record<string, number | null> } {
  const scale = columns.interval === "1d" ? 1 : 1 / 1000; // daily answers are kWh, intraday Wh
  const rows: DayRow[] = [];
  const index = new Map<string, DayRow>();
  columns.days.forEach((day, n) => {
    let row = index.get(day);
    if (!row) {
      row = { day, kwh: Object.fromEntries(FLOWS.map((flow) => [flow, null])) };
      index.set(day, row);
      rows.push(row);
    }
    for (const flow of FLOWS) {
      const value = columns.values.get(`${flow}.energy`)?.[n];
      if (value !== null && value !== undefined) row.kwh[flow] = (row.kwh[flow] ?? 0) + value * scale;
    }
  });
  const totals: Record<string, number | null> = {};
  for (const flow of FLOWS) {
    const present = rows.map((row) => row.kwh[flow]).filter((v): v is number => v !== null);
    totals[flow] = present.length ? present.reduce((a, b) => a + b, 0) : null;
  }
  return { rows, totals };
}

/** Whether an answer holds any value at all ("no data yet" otherwise). */
export function hasData(envelope: Envelope): boolean {
  return envelope.data.some((series) => series.history.data.some((v) => v !== null));
}
