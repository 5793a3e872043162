// <liveone-panel>: the sidebar panel. The systems the user may see, a range and interval picker, the
// history of the chosen system and its CSV download.
import { LitElement, css, html, nothing } from "lit";
import "./history";
import type { LiveOneHistory } from "./history";
import {
  RANGES,
  RANGE_LABELS,
  allowedIntervals,
  defaultInterval,
  describeError,
  fetchCsv,
  fetchSystems,
  historyUrl,
  localDate,
  rangeQuery,
  type Hass,
  type Interval,
  type RangeKey,
  type RangeQuery,
  type SystemInfo,
} from "./data";

function when(iso: string | null): string {
  if (!iso) return "no data yet";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export class LiveOnePanel extends LitElement {
  static override properties = {
    hass: { attribute: false },
    narrow: { type: Boolean },
    panel: { attribute: false },
    systems: { state: true },
    systemsError: { state: true },
    selected: { state: true },
    range: { state: true },
    interval: { state: true },
    customFrom: { state: true },
    customTo: { state: true },
    downloadError: { state: true },
  };

  declare hass: Hass | undefined;
  declare narrow: boolean;
  declare panel: unknown;
  declare systems: SystemInfo[] | undefined;
  declare systemsError: string | undefined;
  declare selected: number | undefined;
  declare range: RangeKey;
  declare interval: Interval;
  declare customFrom: string;
  declare customTo: string;
  declare downloadError: string | undefined;

  /** performance.now() when the panel was opened, and the time to its first drawn chart (ms). */
  openedAt = 0;
  timeToChart: number | undefined;
  private loadingSystems = false;
  private intervalChosen = false;

  constructor() {
    super();
    this.narrow = false;
    this.range = "7d";
    this.interval = "5m";
    this.customFrom = "";
    this.customTo = "";
    this.addEventListener("liveone-chart-drawn", (event) => {
      // The chart sits in <liveone-history>'s shadow root: the event's target is retargeted to it.
      const chart = event.composedPath()[0] as HTMLElement | undefined;
      if (this.timeToChart === undefined && chart?.classList?.contains("power")) {
        this.timeToChart = performance.now() - this.openedAt;
        this.dataset["timeToChart"] = this.timeToChart.toFixed(1);
      }
    });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.openedAt = performance.now();
    this.timeToChart = undefined;
    delete this.dataset["timeToChart"];
    // Deep links: ?system=N&range=7d&interval=5m&from=YYYY-MM-DD&to=YYYY-MM-DD
    const params = new URLSearchParams(window.location.search);
    const range = params.get("range") as RangeKey | null;
    if (range && RANGES.includes(range)) this.range = range;
    const system = Number(params.get("system"));
    if (params.get("system") && Number.isInteger(system)) this.selected = system;
    this.customFrom = params.get("from") ?? this.customFrom;
    this.customTo = params.get("to") ?? this.customTo;
    const interval = params.get("interval") as Interval | null;
    this.interval = defaultInterval(this.query().span);
    if (interval && allowedIntervals(this.query().span).includes(interval)) {
      this.interval = interval;
      this.intervalChosen = true;
    }
    if (this.hass) void this.loadSystems();
  }

  protected override willUpdate(): void {
    if (this.hass && this.systems === undefined && this.systemsError === undefined && !this.loadingSystems) {
      void this.loadSystems();
    }
  }

  private async loadSystems(): Promise<void> {
    if (this.loadingSystems) return;
    this.loadingSystems = true;
    try {
      this.systems = await fetchSystems(this.hass!);
      this.systemsError = undefined;
      if (!this.systems.some((system) => system.system === this.selected)) this.selected = this.systems[0]?.system;
    } catch (err) {
      this.systemsError = describeError(err);
    } finally {
      this.loadingSystems = false;
    }
  }

  private get current(): SystemInfo | undefined {
    return this.systems?.find((system) => system.system === this.selected);
  }

  private query(): RangeQuery {
    const offset = this.current?.timezone_offset_min ?? 0;
    return rangeQuery(this.range, offset, { from: this.customFrom, to: this.customTo });
  }

  private pickRange(range: RangeKey): void {
    this.range = range;
    if (range === "custom" && !this.customFrom) {
      const offset = this.current?.timezone_offset_min ?? 0;
      this.customFrom = localDate(offset, -6);
      this.customTo = localDate(offset, 0);
    }
    const allowed = allowedIntervals(this.query().span);
    if (!this.intervalChosen || !allowed.includes(this.interval)) {
      this.interval = defaultInterval(this.query().span);
      this.intervalChosen = false;
    }
  }

  private pickInterval(interval: Interval): void {
    this.interval = interval;
    this.intervalChosen = true;
  }

  private async download(): Promise<void> {
    const system = this.current;
    if (!system || !this.hass) return;
    this.downloadError = undefined;
    try {
      const text = await fetchCsv(this.hass, historyUrl(system.system, this.interval, this.query(), "csv"));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      link.download = `liveone_${system.vendor}_${system.site_id}_${this.range}_${this.interval}.csv`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      this.downloadError = err instanceof Error ? err.message : String(err);
    }
  }

  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      font-family: var(--paper-font-body1_-_font-family, Roboto, sans-serif);
    }
    header {
      display: flex;
      align-items: center;
      gap: 8px;
      height: var(--header-height, 56px);
      padding: 0 12px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, var(--text-primary-color, #fff));
      font-size: 20px;
    }
    main {
      padding: 12px;
      max-width: 1200px;
      margin: 0 auto;
      box-sizing: border-box;
    }
    .card {
      background: var(--card-background-color, #fff);
      border-radius: var(--ha-card-border-radius, 12px);
      border: 1px solid var(--divider-color);
      padding: 12px 16px;
      margin-bottom: 12px;
    }
    .systems {
      display: grid;
      grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
      gap: 8px;
    }
    .system {
      text-align: left;
      font: inherit;
      color: inherit;
      background: var(--card-background-color, #fff);
      border: 1px solid var(--divider-color);
      border-radius: 8px;
      padding: 8px 12px;
      cursor: pointer;
    }
    .system[aria-pressed="true"] {
      border-color: var(--primary-color);
      box-shadow: 0 0 0 1px var(--primary-color);
    }
    .system .name {
      font-weight: 500;
    }
    .system .meta {
      color: var(--secondary-text-color);
      font-size: 0.85em;
    }
    .controls {
      display: flex;
      flex-wrap: wrap;
      gap: 6px;
      align-items: center;
    }
    .controls button,
    .controls select,
    .controls input {
      font: inherit;
      color: var(--primary-text-color);
      background: var(--secondary-background-color, #f5f5f5);
      border: 1px solid var(--divider-color);
      border-radius: 16px;
      padding: 4px 12px;
    }
    .controls button[aria-pressed="true"] {
      background: var(--primary-color);
      color: var(--text-primary-color, #fff);
      border-color: var(--primary-color);
    }
    .spacer {
      flex: 1;
    }
    .state {
      padding: 24px 8px;
      text-align: center;
      color: var(--secondary-text-color);
    }
    .error {
      color: var(--error-color, #db4437);
    }
  `;

  protected override render() {
    return html`<header>
        ${customElements.get("ha-menu-button")
          ? html`<ha-menu-button .hass=${this.hass} .narrow=${this.narrow}></ha-menu-button>`
          : nothing}
        <span>LiveOne</span>
      </header>
      <main>${this.renderBody()}</main>`;
  }

  private renderBody() {
    if (this.systemsError) return html`<div class="card state error" role="alert">${this.systemsError}</div>`;
    if (this.systems === undefined) return html`<div class="card state" role="status">Loading systems…</div>`;
    if (this.systems.length === 0) {
      return html`<div class="card state" role="status">
        No LiveOne system to show: none is set up, or none was shared with you.
      </div>`;
    }
    const system = this.current;
    const query = this.query();
    return html`<section class="card">
        <div class="systems">
          ${this.systems.map(
            (item) =>
              html`<button
                class="system"
                data-system=${item.system}
                aria-pressed=${item.system === this.selected ? "true" : "false"}
                @click=${() => (this.selected = item.system)}
              >
                <div class="name">${item.name}</div>
                <div class="meta">${item.vendor} · ${item.role}</div>
                <div class="meta">
                  ${item.status === "active" && item.entry_id ? "polling" : `not polling (${item.status})`} ·
                  newest data ${when(item.last_data)}
                </div>
              </button>`,
          )}
        </div>
      </section>
      <section class="card">
        <div class="controls">
          ${RANGES.map(
            (range) =>
              html`<button
                data-range=${range}
                aria-pressed=${range === this.range ? "true" : "false"}
                @click=${() => this.pickRange(range)}
              >
                ${RANGE_LABELS[range]}
              </button>`,
          )}
          ${this.range === "custom"
            ? html`<input
                  type="date"
                  aria-label="From"
                  .value=${this.customFrom}
                  @change=${(e: Event) => {
                    this.customFrom = (e.target as HTMLInputElement).value;
                    this.pickRange("custom");
                  }}
                />
                <input
                  type="date"
                  aria-label="To"
                  .value=${this.customTo}
                  @change=${(e: Event) => {
                    this.customTo = (e.target as HTMLInputElement).value;
                    this.pickRange("custom");
                  }}
                />`
            : nothing}
          <select
            aria-label="Interval"
            class="interval"
            @change=${(e: Event) => this.pickInterval((e.target as HTMLSelectElement).value as Interval)}
          >
            ${allowedIntervals(query.span).map(
              (interval) => html`<option value=${interval} ?selected=${interval === this.interval}>${interval}</option>`,
            )}
          </select>
          <span class="spacer"></span>
          <button class="csv" @click=${() => this.download()}>Download CSV</button>
        </div>
        ${this.downloadError ? html`<div class="error" role="alert">${this.downloadError}</div>` : nothing}
        ${system
          ? html`<liveone-history
              .hass=${this.hass}
              system=${system.system}
              offset-min=${system.timezone_offset_min}
              interval=${this.interval}
              .query=${query}
              chart-height=${this.narrow ? 220 : 300}
            ></liveone-history>`
          : nothing}
      </section>`;
  }

  /** The history element (the browser tests count its requests). */
  get historyElement(): LiveOneHistory | null {
    return this.renderRoot.querySelector("liveone-history");
  }
}

if (!customElements.get("liveone-panel")) customElements.define("liveone-panel", LiveOnePanel);
