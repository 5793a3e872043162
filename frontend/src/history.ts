// <liveone-history>: one system's history over a range at an interval: power and/or energy charts and
// the day table, with loading, empty and error states in words. Shared by the panel and the card.
import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import "./chart";
import {
  FLOWS,
  FLOW_LABELS,
  columnsOf,
  dayTable,
  describeError,
  fetchHistory,
  hasData,
  type Columns,
  type Envelope,
  type Hass,
  type Interval,
  type RangeQuery,
} from "./data";

export type Section = "power" | "energy" | "table";

function kwh(value: number | null): string {
  return value === null ? "–" : value.toFixed(2);
}

export class LiveOneHistory extends LitElement {
  static override properties = {
    hass: { attribute: false },
    system: { type: Number },
    offsetMin: { type: Number, attribute: "offset-min" },
    interval: { type: String },
    query: { attribute: false },
    sections: { attribute: false },
    chartHeight: { type: Number, attribute: "chart-height" },
    state: { state: true },
  };

  declare hass: Hass | undefined;
  declare system: number | undefined;
  declare offsetMin: number;
  declare interval: Interval;
  declare query: RangeQuery | undefined;
  declare sections: Section[];
  declare chartHeight: number;
  declare state:
    | { kind: "idle" }
    | { kind: "loading" }
    | { kind: "error"; message: string }
    | { kind: "empty" }
    | { kind: "ready"; envelope: Envelope; columns: Columns };

  /** Requests sent (the browser tests count them). */
  requests = 0;
  private requestKey = "";
  private generation = 0;

  constructor() {
    super();
    this.offsetMin = 0;
    this.interval = "5m";
    this.sections = ["power", "energy", "table"];
    this.chartHeight = 260;
    this.state = { kind: "idle" };
  }

  static override styles = css`
    :host {
      display: block;
    }
    .state {
      padding: 24px 8px;
      text-align: center;
      color: var(--secondary-text-color);
    }
    .state.error {
      color: var(--error-color, #db4437);
    }
    h3 {
      font-size: 1em;
      font-weight: 500;
      margin: 16px 0 4px;
    }
    .table-wrap {
      overflow-x: auto;
    }
    table {
      border-collapse: collapse;
      width: 100%;
      font-size: 0.9em;
      font-variant-numeric: tabular-nums;
    }
    th,
    td {
      padding: 4px 6px;
      text-align: right;
      border-bottom: 1px solid var(--divider-color);
      white-space: nowrap;
    }
    th:first-child,
    td:first-child {
      text-align: left;
    }
    tfoot td {
      font-weight: 600;
    }
  `;

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has("hass") || changed.has("system") || changed.has("interval") || changed.has("query")) {
      const key = JSON.stringify([this.system, this.interval, this.query]);
      if (this.hass && this.system !== undefined && this.query && key !== this.requestKey) {
        this.requestKey = key;
        void this.load();
      }
    }
  }

  /** Ask again (the same range). */
  reload(): void {
    this.requestKey = "";
    this.requestUpdate("query");
  }

  private async load(): Promise<void> {
    const generation = ++this.generation;
    this.state = { kind: "loading" };
    this.requests += 1;
    try {
      const envelope = await fetchHistory(this.hass!, this.system!, this.interval, this.query!);
      if (generation !== this.generation) return;
      this.state = hasData(envelope)
        ? { kind: "ready", envelope, columns: columnsOf(envelope, this.offsetMin) }
        : { kind: "empty" };
    } catch (err) {
      if (generation !== this.generation) return;
      this.state = { kind: "error", message: describeError(err) };
    }
    this.dispatchEvent(new CustomEvent("liveone-history-state", { detail: this.state.kind, bubbles: true, composed: true }));
  }

  protected override render() {
    const state = this.state;
    switch (state.kind) {
      case "idle":
        return nothing;
      case "loading":
        return html`<div class="state" role="status">Loading history…</div>`;
      case "error":
        return html`<div class="state error" role="alert">${state.message}</div>`;
      case "empty":
        return html`<div class="state" role="status">No data yet for this range.</div>`;
      case "ready":
        return html`${this.sections.map((section) => this.renderSection(section, state.columns))}`;
    }
  }

  private renderSection(section: Section, columns: Columns) {
    if (section === "table") return this.renderTable(columns);
    const title = section === "power" ? "Power" : `Energy per ${columns.interval === "1d" ? "day" : "slot"}`;
    return html`<h3>${title}</h3>
      <liveone-chart
        class=${section}
        .columns=${columns}
        kind=${section}
        offset-min=${this.offsetMin}
        height=${this.chartHeight}
      ></liveone-chart>`;
  }

  private renderTable(columns: Columns) {
    const { rows, totals } = dayTable(columns);
    return html`<h3>Energy by day (kWh)</h3>
      <div class="table-wrap">
        <table class="days">
          <thead>
            <tr>
              <th>Day</th>
              ${FLOWS.map((flow) => html`<th>${FLOW_LABELS[flow]}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (row) =>
                html`<tr>
                  <td>${row.day}</td>
                  ${FLOWS.map((flow) => html`<td>${kwh(row.kwh[flow] ?? null)}</td>`)}
                </tr>`,
            )}
          </tbody>
          <tfoot>
            <tr>
              <td>Total</td>
              ${FLOWS.map((flow) => html`<td>${kwh(totals[flow] ?? null)}</td>`)}
            </tr>
          </tfoot>
        </table>
      </div>`;
  }
}

if (!customElements.get("liveone-history")) customElements.define("liveone-history", LiveOneHistory);
