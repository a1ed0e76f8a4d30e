// Plots of a stored analysis: a heat map on a canvas (chroma: 12 pitch classes; MFCC: its coefficients)
// and uPlot line charts (beats and chord confidence over time). Data comes in data-* attributes as JSON.
import uPlot from "uplot";

function heatColor(v) {
  const t = Math.max(0, Math.min(1, v));
  return `rgb(${Math.round(255 * t)}, ${Math.round(80 + 120 * t * (1 - t) * 2)}, ${Math.round(255 * (1 - t))})`;
}

export const Heatmap = {
  mounted() { this.draw(); },
  updated() { this.draw(); },
  draw() {
    const values = JSON.parse(this.el.dataset.values || "[]");
    const labels = JSON.parse(this.el.dataset.labels || "[]");
    const canvas = this.el.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    const width = canvas.clientWidth || 300;
    canvas.width = width;
    canvas.height = 64;
    ctx.clearRect(0, 0, width, 64);
    if (!values.length) return;
    const lo = Math.min(...values), hi = Math.max(...values);
    const cell = width / values.length;
    values.forEach((v, i) => {
      ctx.fillStyle = heatColor(hi > lo ? (v - lo) / (hi - lo) : 0.5);
      ctx.fillRect(i * cell, 0, Math.ceil(cell), 44);
      ctx.fillStyle = "#222";
      ctx.font = "11px system-ui";
      if (labels[i] !== undefined) ctx.fillText(labels[i], i * cell + 2, 58);
    });
    this.el.dataset.drawn = String(values.length);
  },
};

export const LinePlot = {
  mounted() {
    this.draw();
    // uPlot draws at a fixed width: redraw when the window (a phone turned, a window resized) changes it.
    this.onResize = () => { clearTimeout(this.resizing); this.resizing = setTimeout(() => this.draw(), 100); };
    window.addEventListener("resize", this.onResize);
  },
  updated() { this.draw(); },
  draw() {
    const series = JSON.parse(this.el.dataset.series || "[]");
    const x = JSON.parse(this.el.dataset.x || "[]");
    const target = this.el.querySelector(".plot");
    if (this.plot) this.plot.destroy();
    target.textContent = "";
    if (!x.length) return;
    const width = Math.max(240, this.el.clientWidth || 600);
    this.plot = new uPlot({
      width, height: 180,
      scales: { x: { time: false } },
      series: [{ label: this.el.dataset.xLabel || "x" },
        ...series.map((s, i) => ({ label: s.label, stroke: ["#28518a", "#c0392b", "#27ae60"][i % 3], width: 2 }))],
    }, [x, ...series.map((s) => s.values)], target);
    this.el.dataset.drawn = String(x.length);
  },
  destroyed() {
    window.removeEventListener("resize", this.onResize);
    if (this.plot) this.plot.destroy();
  },
};
