// Plots of a stored analysis: heat maps on a canvas (chroma over time; MFCC: its mean coefficients)
// and uPlot line charts (beats and chord confidence over time). Data comes in data-* attributes as JSON.
import uPlot from "uplot";

function heatColor(v) {
  const t = Math.max(0, Math.min(1, v));
  return `rgb(${Math.round(255 * t)}, ${Math.round(80 + 120 * t * (1 - t) * 2)}, ${Math.round(255 * (1 - t))})`;
}

const LABEL_WIDTH = 28;

// A heat map on a canvas. `values` is a row of numbers (a mean per label: cells side by side, labels under
// them) or a matrix, one column of numbers per time bin (chroma over time: a row per label, the lowest
// label at the bottom, time running right). Colours span the data's own range.
export const Heatmap = {
  mounted() { this.draw(); },
  updated() { this.draw(); },
  draw() {
    const values = JSON.parse(this.el.dataset.values || "[]");
    const labels = JSON.parse(this.el.dataset.labels || "[]");
    const canvas = this.el.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    const width = canvas.clientWidth || 300;
    const matrix = Array.isArray(values[0]);
    const rows = matrix ? values[0].length : 1;
    const height = matrix ? Math.max(96, rows * 12) : 64;
    canvas.width = width;
    canvas.height = height;
    canvas.style.height = `${height}px`;
    ctx.clearRect(0, 0, width, height);
    if (!values.length) return;
    const flat = values.flat();
    const lo = Math.min(...flat), hi = Math.max(...flat);
    const color = (v) => heatColor(hi > lo ? (v - lo) / (hi - lo) : 0.5);
    ctx.font = "11px system-ui";
    if (matrix) {
      const cell = (width - LABEL_WIDTH) / values.length, row = height / rows;
      values.forEach((column, x) => column.forEach((v, y) => {
        ctx.fillStyle = color(v);
        ctx.fillRect(LABEL_WIDTH + x * cell, height - (y + 1) * row, Math.ceil(cell), Math.ceil(row));
      }));
      ctx.fillStyle = "#222";
      labels.forEach((label, y) => ctx.fillText(label, 2, height - y * row - 2));
      this.el.dataset.drawn = `${rows}x${values.length}`;
      return;
    }
    const cell = width / values.length;
    values.forEach((v, i) => {
      ctx.fillStyle = color(v);
      ctx.fillRect(i * cell, 0, Math.ceil(cell), 44);
      ctx.fillStyle = "#222";
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
