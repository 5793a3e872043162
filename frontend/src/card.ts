// custom:liveone-history-card: one system's power or energy over a configured range, and its editor.
//
//   type: custom:liveone-history-card
//   system: 1            # the id liveone/systems lists (default: the first system the user may see)
//   view: power          # power | energy | table
//   range: 24h           # today | yesterday | 24h | 7d | 30d | 13mo
//   interval: 5m         # optional: 5m | 30m | 1d within the range's limits
//   title: Solar today   # optional
import { LitElement, css, html, nothing } from "lit";
import "./history";
import type { Section } from "./history";
import {
  RANGES,
  RANGE_LABELS,
  allowedIntervals,
  defaultInterval,
  describeError,
  fetchSystems,
  rangeQuery,
  type Hass,
  type Interval,
  type RangeKey,
  type SystemInfo,
} from "./data";

export interface CardConfig {
  type: string;
  system?: number;
  view?: Section;
  range?: Exclude<RangeKey, "custom">;
  interval?: Interval;
  title?: string;
}

const VIEWS: readonly Section[] = ["power", "energy", "table"];
const CARD_RANGES = RANGES.filter((range) => range !== "custom") as Exclude<RangeKey, "custom">[];

function checkConfig(config: CardConfig): CardConfig {
  if (!config || typeof config !== "object") throw new Error("The card needs a configuration");
  if (config.view !== undefined && !VIEWS.includes(config.view)) {
    throw new Error(`view must be one of ${VIEWS.join(", ")}`);
  }
  if (config.range !== undefined && !CARD_RANGES.includes(config.range)) {
    throw new Error(`range must be one of ${CARD_RANGES.join(", ")}`);
  }
  if (config.system !== undefined && !Number.isInteger(Number(config.system))) {
    throw new Error("system must be the number liveone/systems lists");
  }
  return config;
}

export class LiveOneHistoryCard extends LitElement {
  static override properties = {
    hass: { attribute: false },
    config: { state: true },
    systems: { state: true },
    error: { state: true },
  };

  declare hass: Hass | undefined;
  declare config: CardConfig | undefined;
  declare systems: SystemInfo[] | undefined;
  declare error: string | undefined;
  private asked = false;

  static getConfigElement(): HTMLElement {
    return document.createElement("liveone-history-card-editor");
  }

  static getStubConfig(): Partial<CardConfig> {
    return { view: "power", range: "24h" };
  }

  setConfig(config: CardConfig): void {
    this.config = checkConfig(config);
  }

  getCardSize(): number {
    return 5;
  }

  getGridOptions(): Record<string, number> {
    return { columns: 12, rows: 5, min_columns: 6, min_rows: 3 };
  }

  protected override willUpdate(): void {
    if (this.hass && !this.asked) {
      this.asked = true;
      fetchSystems(this.hass).then(
        (systems) => (this.systems = systems),
        (err: unknown) => (this.error = describeError(err)),
      );
    }
  }

  static override styles = css`
    :host {
      display: block;
    }
    ha-card,
    .card {
      display: block;
      padding: 12px 16px;
      background: var(--ha-card-background, var(--card-background-color, #fff));
      border-radius: var(--ha-card-border-radius, 12px);
      color: var(--primary-text-color);
    }
    .title {
      font-size: 1.15em;
      font-weight: 500;
      margin-bottom: 4px;
    }
    .state {
      padding: 16px 0;
      color: var(--secondary-text-color);
    }
    .error {
      color: var(--error-color, #db4437);
    }
  `;

  protected override render() {
    const body = this.renderBody();
    return customElements.get("ha-card")
      ? html`<ha-card>${body}</ha-card>`
      : html`<div class="card">${body}</div>`;
  }

  private renderBody() {
    const config = this.config;
    if (!config) return nothing;
    if (this.error) return html`<div class="state error" role="alert">${this.error}</div>`;
    if (!this.systems) return html`<div class="state" role="status">Loading…</div>`;
    const system =
      config.system === undefined ? this.systems[0] : this.systems.find((s) => s.system === Number(config.system));
    if (!system) {
      return html`<div class="state error" role="alert">
        ${config.system === undefined
          ? "No LiveOne system to show: none is set up, or none was shared with you."
          : `LiveOne system ${config.system} is not there: it was removed, or you may not see it.`}
      </div>`;
    }
    const range = config.range ?? "24h";
    const query = rangeQuery(range, system.timezone_offset_min);
    const interval =
      config.interval && allowedIntervals(query.span).includes(config.interval)
        ? config.interval
        : defaultInterval(query.span);
    const view = config.view ?? "power";
    return html`<div class="title">${config.title ?? `${system.name}: ${view} (${RANGE_LABELS[range]})`}</div>
      <liveone-history
        .hass=${this.hass}
        system=${system.system}
        offset-min=${system.timezone_offset_min}
        interval=${interval}
        .query=${query}
        .sections=${[view]}
        chart-height="220"
      ></liveone-history>`;
  }
}

/** The card's visual editor: system, view, range and interval pickers. */
export class LiveOneHistoryCardEditor extends LitElement {
  static override properties = {
    hass: { attribute: false },
    config: { state: true },
    systems: { state: true },
  };

  declare hass: Hass | undefined;
  declare config: CardConfig | undefined;
  declare systems: SystemInfo[] | undefined;
  private asked = false;

  setConfig(config: CardConfig): void {
    this.config = config;
  }

  protected override willUpdate(): void {
    if (this.hass && !this.asked) {
      this.asked = true;
      fetchSystems(this.hass).then(
        (systems) => (this.systems = systems),
        () => (this.systems = []),
      );
    }
  }

  private change(key: keyof CardConfig, value: string): void {
    const config: Record<string, unknown> = { ...this.config };
    if (value === "") delete config[key];
    else config[key] = key === "system" ? Number(value) : value;
    this.config = config as unknown as CardConfig;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }

  static override styles = css`
    label {
      display: flex;
      flex-direction: column;
      gap: 2px;
      margin-bottom: 8px;
      color: var(--primary-text-color);
    }
    select,
    input {
      font: inherit;
      padding: 6px;
    }
  `;

  private select(key: keyof CardConfig, label: string, options: [string, string][]) {
    const current = this.config?.[key];
    return html`<label
      >${label}
      <select @change=${(e: Event) => this.change(key, (e.target as HTMLSelectElement).value)}>
        ${options.map(
          ([value, text]) => html`<option value=${value} ?selected=${String(current ?? "") === value}>${text}</option>`,
        )}
      </select></label
    >`;
  }

  protected override render() {
    if (!this.config) return nothing;
    return html`${this.select("system", "System", [
        ["", "The first system"],
        ...(this.systems ?? []).map((s): [string, string] => [String(s.system), s.name]),
      ])}
      ${this.select("view", "View", [
        ["power", "Power"],
        ["energy", "Energy"],
        ["table", "Energy by day"],
      ])}
      ${this.select("range", "Range", CARD_RANGES.map((r): [string, string] => [r, RANGE_LABELS[r]]))}
      ${this.select("interval", "Interval", [
        ["", "Chosen from the range"],
        ["5m", "5 minutes"],
        ["30m", "30 minutes"],
        ["1d", "1 day"],
      ])}
      <label
        >Title
        <input
          .value=${this.config.title ?? ""}
          @change=${(e: Event) => this.change("title", (e.target as HTMLInputElement).value)}
      /></label>`;
  }
}

if (!customElements.get("liveone-history-card")) customElements.define("liveone-history-card", LiveOneHistoryCard);
if (!customElements.get("liveone-history-card-editor")) {
  customElements.define("liveone-history-card-editor", LiveOneHistoryCardEditor);
}

interface CustomCardEntry {
  type: string;
  name: string;
  description: string;
  preview?: boolean;
}
const registry = window as unknown as { customCards?: CustomCardEntry[] };
registry.customCards = registry.customCards ?? [];
if (!registry.customCards.some((card) => card.type === "liveone-history-card")) {
  registry.customCards.push({
    type: "liveone-history-card",
    name: "LiveOne history",
    description: "One LiveOne system's power or energy over a range.",
    preview: false,
  });
}
