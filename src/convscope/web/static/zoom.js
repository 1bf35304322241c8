// convscope's web page: the diagram fits its panel and can be zoomed (wheel, buttons)
// and panned (drag). Zoom and pan change the SVG's viewBox only (no styles, so the
// page's Content-Security-Policy stays strict).
"use strict";

class Zoom {
  constructor(panel) {
    this.panel = panel;
    this.svg = null;
    this.base = null;  // the drawing's own viewBox: what "fit" shows
    this.view = null;
    this.drag = null;
    this.moved = false;
    panel.addEventListener("wheel", (ev) => this.wheel(ev), {passive: false});
    panel.addEventListener("pointerdown", (ev) => this.down(ev));
    panel.addEventListener("pointermove", (ev) => this.move(ev));
    panel.addEventListener("pointerup", (ev) => this.up(ev));
    panel.addEventListener("pointercancel", (ev) => this.up(ev));
    // a drag is not a click on the layer under the pointer
    panel.addEventListener("click", (ev) => {
      if (this.moved) { ev.stopPropagation(); ev.preventDefault(); this.moved = false; }
    }, true);
    const button = (id, fn) => { const b = document.getElementById(id); if (b) b.onclick = fn; };
    button("zoom-in", () => this.zoomBy(1.25));
    button("zoom-out", () => this.zoomBy(0.8));
    button("zoom-fit", () => this.fit());
  }

  static box(svg) {
    const vb = (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
    if (vb.length === 4 && vb.every(Number.isFinite) && vb[2] > 0 && vb[3] > 0)
      return {x: vb[0], y: vb[1], w: vb[2], h: vb[3]};
    const w = parseFloat(svg.getAttribute("width")) || 800;
    const h = parseFloat(svg.getAttribute("height")) || 400;
    return {x: 0, y: 0, w, h};
  }

  // Show a new drawing; the zoom is kept when the drawing keeps its size (typing).
  show(svg) {
    this.panel.replaceChildren(svg);
    if (svg.localName !== "svg") { this.svg = null; return; }
    const base = Zoom.box(svg);
    const same = this.base && this.view && this.base.w === base.w && this.base.h === base.h;
    this.svg = svg;
    this.base = base;
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    if (same) this.apply(); else this.fit();
  }

  fit() { this.view = {...this.base}; this.apply(); }

  // Pixels of the panel per unit of the drawing (the viewBox is fitted inside: 'meet').
  scale() {
    const rect = this.panel.getBoundingClientRect();
    return Math.min(rect.width / this.view.w, rect.height / this.view.h) || 1;
  }

  apply() {
    if (!this.svg) return;
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    const level = document.getElementById("zoom-level");
    if (level) level.textContent = `${Math.round(this.scale() * 100)} %`;
  }

  // The drawing's point under a client position (the centre of the panel by default).
  point(clientX, clientY) {
    const rect = this.panel.getBoundingClientRect();
    const s = this.scale();
    const x = clientX === undefined ? rect.width / 2 : clientX - rect.left;
    const y = clientY === undefined ? rect.height / 2 : clientY - rect.top;
    // 'meet' centres the view: offsets of the empty margins
    const ox = (rect.width - this.view.w * s) / 2, oy = (rect.height - this.view.h * s) / 2;
    return {x: this.view.x + (x - ox) / s, y: this.view.y + (y - oy) / s};
  }

  zoomBy(factor, clientX, clientY) {
    if (!this.svg) return;
    const now = this.scale();
    const target = Math.min(8, Math.max(0.02, now * factor));  // 2 % to 800 %
    const f = target / now;
    const p = this.point(clientX, clientY);
    const v = this.view;
    this.view = {x: p.x - (p.x - v.x) / f, y: p.y - (p.y - v.y) / f, w: v.w / f, h: v.h / f};
    this.apply();
  }

  wheel(ev) {
    if (!this.svg) return;
    ev.preventDefault();
    this.zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX, ev.clientY);
  }

  down(ev) {
    if (!this.svg || ev.button !== 0) return;
    this.drag = {x: ev.clientX, y: ev.clientY, view: {...this.view}, id: ev.pointerId};
    this.moved = false;
  }

  move(ev) {
    if (!this.drag) return;
    const dx = ev.clientX - this.drag.x, dy = ev.clientY - this.drag.y;
    if (!this.moved && Math.hypot(dx, dy) < 4) return;
    if (!this.moved) this.panel.setPointerCapture(this.drag.id);
    this.moved = true;
    this.panel.classList.add("dragging");
    const s = this.scale();
    this.view = {...this.drag.view, x: this.drag.view.x - dx / s, y: this.drag.view.y - dy / s};
    this.apply();
  }

  up(ev) {
    if (!this.drag) return;
    if (this.panel.hasPointerCapture(this.drag.id)) this.panel.releasePointerCapture(this.drag.id);
    this.drag = null;
    this.panel.classList.remove("dragging");
  }
}
