// One time-series chart per telemetry key (uPlot): x in seconds, drag to zoom, double-click for all, and a range
// that follows the newest point while readings arrive.
import uPlot from "uplot";

const COLOURS = ["#2862b8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490"];

export class TimeChart {
  constructor(parent, key, index) {
    this.key = key;
    this.xs = [];
    this.ys = [];
    this.range = "all"; // seconds shown up to the newest point, "all", or "zoom" after a drag
    this.box = document.createElement("div");
    this.box.className = "chart";
    this.box.dataset.key = key;
    const title = document.createElement("h4");
    title.textContent = key;
    this.count = document.createElement("span");
    this.count.className = "hint points";
    title.append(" ", this.count);
    this.box.append(title);
    parent.append(this.box);
    this.plot = new uPlot({
      width: Math.max(300, parent.clientWidth - 20),
      height: 170,
      scales: { x: { time: true } },
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      series: [{}, { label: key, stroke: COLOURS[index % COLOURS.length], width: 1.5, points: { show: false } }],
      hooks: { setSelect: [(u) => { if (u.select.width > 0) this.range = "zoom"; }] },
    }, [this.xs, this.ys], this.box);
    this.plot.over.addEventListener("dblclick", () => this.setRange("all"));
  }

  /** points: [{ts, value}] oldest first. */
  add(points) {
    for (const p of points) {
      const x = p.ts / 1000;
      if (this.xs.length && x <= this.xs[this.xs.length - 1]) continue; // a point already shown
      this.xs.push(x);
      this.ys.push(p.value);
    }
    this.plot.setData([this.xs, this.ys], this.range === "all");
    if (this.range !== "all" && this.range !== "zoom") this.setRange(this.range);
    this.count.textContent = `${this.xs.length} point${this.xs.length === 1 ? "" : "s"}`;
  }

  setRange(range) {
    this.range = range;
    const last = this.xs[this.xs.length - 1];
    if (range === "all" || last === undefined) this.plot.setData([this.xs, this.ys], true);
    else this.plot.setScale("x", { min: last - Number(range), max: last });
  }

  resize(width) { this.plot.setSize({ width: Math.max(300, width - 20), height: 170 }); }
  destroy() { this.plot.destroy(); this.box.remove(); }
}
