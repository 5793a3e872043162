// <liveone-chart>: one uPlot chart of an answer's columns, power (average lines, min-max bands, SOC on
// its own axis) or energy per slot (where it came from above zero, where it went below).
import { LitElement, css, html, unsafeCSS, type PropertyValues } from "lit";
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css";
import { FLOWS_IN, FLOWS_OUT, FLOW_LABELS, type Columns } from "./data";

export type ChartKind = "power" | "energy";

const POWER = [
  { name: "solar", label: "Solar", color: ["--energy-solar-color", "#ff9800"] },
  { name: "load", label: "Load", color: ["--liveone-load-color", "#5c6bc0"] },
  { name: "battery", label: "Battery (+ discharge)", color: ["--energy-battery-out-color", "#4db6ac"] },
  { name: "grid", label: "Grid (+ import)", color: ["--energy-grid-consumption-color", "#488fc2"] },
] as const;

const FLOW_COLORS: Record<string, [string, string]> = {
  solar: ["--energy-solar-color", "#ff9800"],
  battery_out: ["--energy-battery-out-color", "#4db6ac"],
  grid_in: ["--energy-grid-consumption-color", "#488fc2"],
  load: ["--liveone-load-color", "#5c6bc0"],
  battery_in: ["--energy-battery-in-color", "#f06292"],
  grid_out: ["--energy-grid-return-color", "#8353d1"],
};

function alpha(color: string, opacity: number): string {
  const hex = color.trim().match(/^#([0-9a-f]{6})$/i);
  if (!hex) return color;
  const n = parseInt(hex[1]!, 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${opacity})`;
}

/** Cumulative sums of flows (null where every flow of the slot is null), for stacked bars. */
function stack(columns: Columns, flows: readonly string[], sign: number): (number | null)[][] {
  const out: (number | null)[][] = [];
  let running: (number | null)[] = columns.x.map(() => null);
  for (const flow of flows) {
    const values = columns.values.get(`${flow}.energy`) ?? [];
    running = running.map((sum, n) => {
      const value = values[n];
      if (value === null || value === undefined) return sum;
      return (sum ?? 0) + sign * value;
    });
    out.push(running);
  }
  return out;
}

export class LiveOneChart extends LitElement {
  static override properties = {
    columns: { attribute: false },
    kind: { type: String },
    offsetMin: { type: Number, attribute: "offset-min" },
    height: { type: Number },
  };

  declare columns: Columns | undefined;
  declare kind: ChartKind;
  declare offsetMin: number;
  declare height: number;

  /** The uPlot instance (the browser tests read its data). */
  plot: uPlot | undefined;
  /** The metric each of plot.data[1..] shows, in order. */
  metrics: string[] = [];
  private resizeObserver: ResizeObserver | undefined;

  constructor() {
    super();
    this.kind = "power";
    this.offsetMin = 0;
    this.height = 260;
  }

  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        color: var(--primary-text-color);
      }
      .u-legend {
        font-size: 12px;
        color: var(--primary-text-color);
      }
      .u-legend .u-marker {
        border-radius: 2px;
      }
      .title {
        font-weight: 500;
        margin: 0 0 4px;
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizeObserver?.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }

  protected override render() {
    return html`<div id="plot"></div>`;
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has("columns") || changed.has("kind") || changed.has("offsetMin")) this.draw();
  }

  private resize(): void {
    if (this.plot && this.clientWidth > 0) this.plot.setSize({ width: this.clientWidth, height: this.height });
  }

  private color(pair: readonly [string, string]): string {
    return getComputedStyle(this).getPropertyValue(pair[0]).trim() || pair[1];
  }

  private draw(): void {
    this.plot?.destroy();
    this.plot = undefined;
    const target = this.renderRoot.querySelector("#plot") as HTMLElement | null;
    const columns = this.columns;
    if (!target || !columns) return;
    const { series, data, scales, axes, bands, metrics } =
      this.kind === "power" ? this.powerSpec(columns) : this.energySpec(columns);
    this.metrics = metrics;
    const text = this.color(["--secondary-text-color", "#727272"]);
    const grid = this.color(["--divider-color", "rgba(0,0,0,0.12)"]);
    const offset = this.offsetMin;
    const options: uPlot.Options = {
      width: Math.max(this.clientWidth, 280),
      height: this.height,
      series,
      scales,
      bands,
      axes: axes.map((axis) => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, ...axis })),
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      // Show times in the system's own (fixed) offset, wherever the browser is.
      tzDate: (ts) => {
        const date = new Date(ts * 1000);
        return new Date(date.getTime() + (offset + date.getTimezoneOffset()) * 60000);
      },
    };
    this.plot = new uPlot(options, data as uPlot.AlignedData, target);
    // The band edges (min and max) have no legend entry of their own: the average's entry stands for them.
    const rows = this.plot.root.querySelectorAll<HTMLElement>(".u-legend .u-series");
    metrics.forEach((metric, index) => {
      const row = rows[index + 1];
      if (row && /\.power\.(min|max)$/.test(metric)) row.style.display = "none";
    });
    this.dataset["slots"] = String(columns.x.length);
    this.dataset["drawn"] = String(performance.now());
    this.dispatchEvent(new CustomEvent("liveone-chart-drawn", { bubbles: true, composed: true }));
  }

  private powerSpec(columns: Columns) {
    const intraday = columns.interval !== "1d";
    const series: uPlot.Series[] = [{}];
    const data: (number | null)[][] = [columns.x];
    const metrics: string[] = [];
    const bands: uPlot.Band[] = [];
    for (const power of POWER) {
      const color = this.color(power.color);
      const avg = columns.values.get(`${power.name}.power.avg`);
      if (!avg) continue;
      series.push({ label: power.label, stroke: color, width: 1.5, scale: "W", value: (_u, v) => (v == null ? "–" : `${v} W`) });
      data.push(avg);
      metrics.push(`${power.name}.power.avg`);
      if (intraday) {
        const max = columns.values.get(`${power.name}.power.max`);
        const min = columns.values.get(`${power.name}.power.min`);
        if (max && min) {
          const at = series.length;
          series.push({ label: `${power.label} max`, stroke: alpha(color, 0.25), width: 0, scale: "W", points: { show: false } });
          series.push({ label: `${power.label} min`, stroke: alpha(color, 0.25), width: 0, scale: "W", points: { show: false } });
          data.push(max, min);
          metrics.push(`${power.name}.power.max`, `${power.name}.power.min`);
          bands.push({ series: [at, at + 1], fill: alpha(color, 0.15) });
        }
      }
    }
    const soc = columns.values.get(intraday ? "battery.soc" : "battery.soc.end");
    if (soc) {
      series.push({ label: "Battery SOC", stroke: this.color(["--liveone-soc-color", "#43a047"]), width: 1.5, dash: [4, 3], scale: "%", value: (_u, v) => (v == null ? "–" : `${v} %`) });
      data.push(soc);
      metrics.push(intraday ? "battery.soc" : "battery.soc.end");
    }
    const scales: uPlot.Scales = { x: { time: true }, "%": { range: [0, 100] } };
    const axes: uPlot.Axis[] = [{}, { scale: "W", label: "W", size: 60 }, { scale: "%", side: 1, label: "SOC %", grid: { show: false } }];
    return { series, data, scales, axes, bands, metrics };
  }

  private energySpec(columns: Columns) {
    const unit = columns.interval === "1d" ? "kWh" : "Wh";
    const bars = uPlot.paths.bars!({ size: [0.9, 40], align: columns.interval === "1d" ? 1 : -1 });
    const series: uPlot.Series[] = [{}];
    const data: (number | null)[][] = [columns.x];
    const metrics: string[] = [];
    // Stacked: the cumulative sums, drawn tallest first so that each flow shows as its own segment.
    const groups: [readonly string[], number][] = [
      [FLOWS_IN, 1],
      [FLOWS_OUT, -1],
    ];
    for (const [flows, sign] of groups) {
      const sums = stack(columns, flows, sign);
      for (let n = flows.length - 1; n >= 0; n--) {
        const flow = flows[n]!;
        const color = this.color(FLOW_COLORS[flow]!);
        series.push({
          label: FLOW_LABELS[flow]!,
          stroke: color,
          fill: alpha(color, 0.85),
          width: 0,
          paths: bars,
          points: { show: false },
          value: (u, _v, _s, idx) => {
            const raw = idx == null ? null : columns.values.get(`${flow}.energy`)?.[idx];
            void u;
            return raw == null ? "–" : `${Math.round(raw * 100) / 100} ${unit}`;
          },
        });
        data.push(sums[n]!);
        metrics.push(`${flow}.energy`);
      }
    }
    const scales: uPlot.Scales = { x: { time: true } };
    const axes: uPlot.Axis[] = [{}, { label: unit, size: 60 }];
    return { series, data, scales, axes, bands: [] as uPlot.Band[], metrics };
  }
}

if (!customElements.get("liveone-chart")) customElements.define("liveone-chart", LiveOneChart);
