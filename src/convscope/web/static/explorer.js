// convscope: the receptive-field explorer and layer explanations, shared by the HTML
// report (inlined) and the web page. Data: the JSON report (layers[].receptive_field).
"use strict";

const RF = {
  // Draw cells [view.r0, view.r0 + view.rows) x [view.c0, view.c0 + view.cols) of a map
  // (the whole map when `view` is a pair of sizes), the cells of `mark` in orange; a
  // click on a cell calls pick(row, column) in the map's coordinates.
  grid(canvas, rows, cols, mark, pick, view) {
    const v = view || {r0: 0, c0: 0, rows, cols};
    const size = Math.min(16, 280 / Math.max(v.rows, v.cols));  // pixels per cell, maybe < 1
    canvas.width = Math.ceil(v.cols * size) + 1;
    canvas.height = Math.ceil(v.rows * size) + 1;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#f8fafc";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (size >= 4) {  // a visible checkerboard of cells
      ctx.fillStyle = "#e8eef5";
      for (let r = 0; r < v.rows; r++)
        for (let c = ((r + v.r0 + v.c0) % 2); c < v.cols; c += 2)
          ctx.fillRect(c * size + 1, r * size + 1, size - 1, size - 1);
    }
    if (mark) {
      const r0 = Math.max(v.r0, mark.r0) - v.r0, r1 = Math.min(v.r0 + v.rows - 1, mark.r1) - v.r0;
      const c0 = Math.max(v.c0, mark.c0) - v.c0, c1 = Math.min(v.c0 + v.cols - 1, mark.c1) - v.c0;
      ctx.fillStyle = "#f28e2b";
      if (r1 >= r0 && c1 >= c0) {
        ctx.fillRect(c0 * size + 1, r0 * size + 1, Math.max(1, (c1 - c0 + 1) * size - 1),
                     Math.max(1, (r1 - r0 + 1) * size - 1));
        if ((c1 - c0 + 1) * size < 6) {  // a mark smaller than 6 px: ring it
          ctx.strokeStyle = "#d62728";
          ctx.lineWidth = 2;
          ctx.strokeRect(c0 * size - 4, r0 * size - 4, (c1 - c0 + 1) * size + 9,
                         (r1 - r0 + 1) * size + 9);
          ctx.lineWidth = 1;
        }
      }
    }
    ctx.strokeStyle = "#999";
    ctx.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
    canvas.dataset.view = `${v.r0},${v.c0},${v.rows},${v.cols}`;
    canvas.onclick = pick ? (ev) => {
      const rect = canvas.getBoundingClientRect();
      const c = Math.floor((ev.clientX - rect.left) / size);
      const r = Math.floor((ev.clientY - rect.top) / size);
      if (r < v.rows && c < v.cols) pick(r + v.r0, c + v.c0);
    } : null;
    return size;
  },

  // The part of a rows x cols input to show around the region m: the whole input when it
  // is small, else a window about three times the region (at least 24 cells) around it,
  // so that a 7x7 field of a 224x224 image is a square, not a dot.
  window(rows, cols, m) {
    const axis = (n, a0, a1) => {
      const lo = Math.max(0, a0), hi = Math.min(n - 1, a1);
      const span = Math.min(n, Math.max(24, 3 * (hi - lo + 1)));
      const start = Math.min(Math.max(0, Math.round((lo + hi + 1 - span) / 2)), n - span);
      return [start, span];
    };
    if (Math.max(rows, cols) <= 64) return {r0: 0, c0: 0, rows, cols};
    const [r0, h] = axis(rows, m.r0, m.r1), [c0, w] = axis(cols, m.c0, m.c1);
    return {r0, c0, rows: h, cols: w};
  },

  // The input region seen by output cell (i, j) of a layer: start + i * stride, size wide.
  region(field, i, j) {
    const f = field;
    const r0 = f.start[0] + i * f.stride[0];
    const c0 = f.start.length > 1 ? f.start[1] + j * f.stride[1] : 0;
    return {r0: Math.ceil(r0), r1: Math.floor(r0 + f.size[0] - 1),
            c0: Math.ceil(c0), c1: Math.floor(c0 + (f.size.length > 1 ? f.size[1] : 1) - 1)};
  },

  show(root, report, layer) {
    const field = layer.receptive_field;
    const input = report.input;
    const out = layer.output_shape;
    const info = root.querySelector(".rf-info");
    const inCanvas = root.querySelector(".rf-input");
    const outCanvas = root.querySelector(".rf-output");
    if (field.global || !field.size || out.length < 2) {
      info.textContent = `${layer.name}: ` + (field.global
        ? "every output value sees the whole input (global receptive field)"
        : "no spatial positions to explore");
      const label = root.querySelector(".rf-view");
      if (label) label.textContent = "input: the region a cell sees";
      RF.grid(inCanvas, input.length > 2 ? input[0] : 1, input.length > 2 ? input[1] : input[0],
              {r0: 0, r1: 1e9, c0: 0, c1: 1e9}, null);
      RF.grid(outCanvas, 1, 1, null, null);
      return;
    }
    const rows = out[0], cols = out.length > 2 ? out[1] : 1;
    const inRows = input[0], inCols = input.length > 2 ? input[1] : 1;
    const pick = (i, j) => {
      const m = RF.region(field, i, j);
      info.textContent = `${layer.name} output (${i}, ${j}) sees input rows ${m.r0}..${m.r1}` +
        `, columns ${m.c0}..${m.c1} (field ${field.size.join("x")}, stride ` +
        `${field.stride.join("x")}; parts outside the input are padding)`;
      RF.grid(outCanvas, rows, cols, {r0: i, r1: i, c0: j, c1: j}, pick);
      const view = RF.window(inRows, inCols, m);
      RF.grid(inCanvas, inRows, inCols, m, null, view);
      const label = root.querySelector(".rf-view");
      if (label) {
        label.textContent = view.rows === inRows && view.cols === inCols
          ? `input ${inRows}x${inCols}: the region a cell sees`
          : `input rows ${view.r0}..${view.r0 + view.rows - 1}, columns ${view.c0}..` +
            `${view.c0 + view.cols - 1} of ${inRows}x${inCols}: zoomed to the region`;
      }
    };
    pick(Math.floor(rows / 2), Math.floor(cols / 2));
  },
};
