// convscope: the receptive-field explorer and layer explanations, shared by the HTML
// report (inlined) and the web page. Data: the JSON report (layers[].receptive_field).
"use strict";

const RF = {
  grid(canvas, rows, cols, mark, pick) {
    const size = Math.min(16, 280 / Math.max(rows, cols));  // pixels per cell, maybe < 1
    canvas.width = Math.ceil(cols * size) + 1;
    canvas.height = Math.ceil(rows * size) + 1;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#f8fafc";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (size >= 4) {  // a visible checkerboard of cells
      ctx.fillStyle = "#e8eef5";
      for (let r = 0; r < rows; r++)
        for (let c = (r % 2); c < cols; c += 2)
          ctx.fillRect(c * size + 1, r * size + 1, size - 1, size - 1);
    }
    if (mark) {
      const r0 = Math.max(0, mark.r0), r1 = Math.min(rows - 1, mark.r1);
      const c0 = Math.max(0, mark.c0), c1 = Math.min(cols - 1, mark.c1);
      ctx.fillStyle = "#f28e2b";
      ctx.fillRect(c0 * size + 1, r0 * size + 1, Math.max(1, (c1 - c0 + 1) * size - 1),
                   Math.max(1, (r1 - r0 + 1) * size - 1));
    }
    ctx.strokeStyle = "#999";
    ctx.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
    canvas.onclick = pick ? (ev) => {
      const rect = canvas.getBoundingClientRect();
      const c = Math.floor((ev.clientX - rect.left) / size);
      const r = Math.floor((ev.clientY - rect.top) / size);
      if (r < rows && c < cols) pick(r, c);
    } : null;
    return size;
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
      RF.grid(inCanvas, inRows, inCols, m, null);
    };
    pick(Math.floor(rows / 2), Math.floor(cols / 2));
  },
};
