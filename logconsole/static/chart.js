// The histogram above the table: counts by level over time, from the stats
// endpoint, as SVG. Dragging across it, or the arrow keys (Shift to widen)
// and Enter, select buckets; onSelect gets the selected time range.

const NS = "http://www.w3.org/2000/svg";
const LEVELS = ["info", "warn", "error"];
const H = 130, TOP = 8, BOTTOM = 18, LEFT = 36;

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

const shortTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
const dayTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

export class Chart {
  constructor(container, onSelect) {
    this.container = container;
    this.onSelect = onSelect;
    this.buckets = []; // oldest first: {start (ms), end (ms), count, levels}
    this.sel = null; // {a, b} bucket indexes
    this.cursor = -1;
  }

  // render draws stats (the endpoint's data) with buckets of size ms.
  render(stats, size) {
    this.buckets = [...stats.buckets].reverse().map((b) => {
      const start = Date.parse(b.start);
      return { start, end: start + size, count: b.count, levels: b.levels || {} };
    });
    this.size = size;
    this.sel = null;
    this.cursor = -1;
    this.draw();
  }

  clear() {
    this.buckets = [];
    this.container.replaceChildren();
  }

  draw() {
    const W = Math.max(this.container.clientWidth, 200);
    const n = this.buckets.length;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", tabindex: 0, preserveAspectRatio: "none",
      "aria-label": "Entries over time by level. Drag across the bars, or use the arrow keys (Shift to widen) and Enter, to narrow the time range." });
    this.svg = svg;
    this.W = W;
    const max = Math.max(1, ...this.buckets.map((b) => b.count));
    const plotH = H - TOP - BOTTOM;
    this.bw = n ? (W - LEFT) / n : 0;
    el("line", { class: "grid", x1: LEFT, x2: W, y1: TOP, y2: TOP }, svg);
    el("line", { class: "grid", x1: LEFT, x2: W, y1: H - BOTTOM, y2: H - BOTTOM }, svg);
    el("text", { class: "axis", x: LEFT - 4, y: TOP + 8, "text-anchor": "end" }, svg).textContent = max.toLocaleString();
    el("text", { class: "axis", x: LEFT - 4, y: H - BOTTOM, "text-anchor": "end" }, svg).textContent = "0";
    const fmt = this.size >= 86400e3 ? dayTime : shortTime;
    this.buckets.forEach((b, i) => {
      const x = LEFT + i * this.bw;
      const g = el("g", { class: "bucket" }, svg);
      let y = H - BOTTOM;
      for (const lv of LEVELS) {
        const c = b.levels[lv] || 0;
        if (!c) continue;
        const h = (c / max) * plotH;
        y -= h;
        el("rect", { class: `bar-${lv}`, x: x + 0.5, y, width: Math.max(this.bw - 1, 0.5), height: h }, g);
      }
      const title = el("title", {}, g);
      title.textContent = `${fmt.format(new Date(b.start))}: ${b.count.toLocaleString()} (` +
        LEVELS.map((lv) => `${lv} ${(b.levels[lv] || 0).toLocaleString()}`).join(", ") + ")";
      el("rect", { class: "bar-hit", x, y: TOP, width: this.bw, height: plotH }, g).append(title.cloneNode(true));
    });
    if (n) {
      el("text", { class: "axis", x: LEFT, y: H - 4 }, svg).textContent = fmt.format(new Date(this.buckets[0].start));
      el("text", { class: "axis", x: W, y: H - 4, "text-anchor": "end" }, svg).textContent = fmt.format(new Date(this.buckets[n - 1].end));
    }
    this.selRect = el("rect", { class: "selection", x: 0, y: TOP, width: 0, height: plotH, visibility: "hidden" }, svg);
    this.cursorRect = el("rect", { class: "cursor", x: 0, y: TOP, width: 0, height: plotH, visibility: "hidden" }, svg);
    this.bind(svg);
    this.container.replaceChildren(svg);
  }

  // index is the bucket under a client x coordinate.
  index(clientX) {
    const r = this.svg.getBoundingClientRect();
    const x = ((clientX - r.left) / r.width) * this.W - LEFT;
    return Math.min(this.buckets.length - 1, Math.max(0, Math.floor(x / this.bw)));
  }

  showSel() {
    if (!this.sel) { this.selRect.setAttribute("visibility", "hidden"); return; }
    const a = Math.min(this.sel.a, this.sel.b), b = Math.max(this.sel.a, this.sel.b);
    this.selRect.setAttribute("x", LEFT + a * this.bw);
    this.selRect.setAttribute("width", (b - a + 1) * this.bw);
    this.selRect.setAttribute("visibility", "visible");
  }

  showCursor() {
    if (this.cursor < 0) { this.cursorRect.setAttribute("visibility", "hidden"); return; }
    this.cursorRect.setAttribute("x", LEFT + this.cursor * this.bw);
    this.cursorRect.setAttribute("width", this.bw);
    this.cursorRect.setAttribute("visibility", "visible");
  }

  commit() {
    if (!this.sel || !this.buckets.length) return;
    const a = Math.min(this.sel.a, this.sel.b), b = Math.max(this.sel.a, this.sel.b);
    this.onSelect(this.buckets[a].start, this.buckets[b].end);
  }

  bind(svg) {
    svg.addEventListener("pointerdown", (e) => {
      if (!this.buckets.length || e.button !== 0) return;
      svg.setPointerCapture(e.pointerId);
      const i = this.index(e.clientX);
      this.sel = { a: i, b: i };
      this.dragging = true;
      this.showSel();
    });
    svg.addEventListener("pointermove", (e) => {
      if (!this.dragging) return;
      this.sel.b = this.index(e.clientX);
      this.showSel();
    });
    const end = (e) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.sel.b = this.index(e.clientX);
      this.showSel();
      this.commit();
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", () => { this.dragging = false; this.sel = null; this.showSel(); });
    svg.addEventListener("keydown", (e) => {
      const n = this.buckets.length;
      if (!n) return;
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        const step = e.key === "ArrowLeft" ? -1 : 1;
        if (this.cursor < 0) this.cursor = step < 0 ? n - 1 : 0;
        else this.cursor = Math.min(n - 1, Math.max(0, this.cursor + step));
        if (e.shiftKey && this.sel) this.sel.b = this.cursor;
        else this.sel = { a: this.cursor, b: this.cursor };
        this.showSel();
        this.showCursor();
      } else if (e.key === "Enter" && this.sel) {
        e.preventDefault();
        this.commit();
      } else if (e.key === "Escape") {
        this.sel = null;
        this.cursor = -1;
        this.showSel();
        this.showCursor();
      }
    });
  }
}
