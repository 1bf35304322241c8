// convscope's web page: a small code editor of its own (no library, nothing fetched).
// A transparent <textarea> lies over a <pre> that shows the same text highlighted
// (YAML keys, values, strings, numbers, comments; the one-line form's layers and '|'),
// beside a gutter of line numbers in which the line of an error is marked.
// The highlighted text is built from text nodes and <span>s, never parsed as HTML.
"use strict";

const Highlight = {
  MAX_CHARS: 300000,  // larger texts are shown without colours
  // [class, pattern]: tried in order at each position of a line
  TOKENS: [
    ["space", /\s+/y],
    ["string", /"(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?/y],
    ["key", /[A-Za-z_][\w.-]*(?=\s*:(?:\s|$))/y],
    ["shape", /\d+(?:x\d+)+(?![\w.])/y],
    ["number", /[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])/yi],
    ["word", /[A-Za-z_$][\w.${}()*+/-]*/y],
    ["punct", /[{}[\],:|*>&!-]/y],
    ["other", /./y],
  ],

  // Whether a line is in the one-line form ('32x32x1 | conv5-6 | fc10') rather than YAML.
  isOneLine(line) {
    return line.includes("|") && !/^\s*(#|-\s|[\w.-]+\s*:)/.test(line);
  },

  // The [class, text] pieces of one line.
  line(text) {
    const oneLine = Highlight.isOneLine(text);
    const pieces = [];
    let i = 0;
    while (i < text.length) {
      if (text[i] === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
        pieces.push(["comment", text.slice(i)]);
        break;
      }
      for (const [name, pattern] of Highlight.TOKENS) {
        pattern.lastIndex = i;
        const m = pattern.exec(text);
        if (!m || !m[0]) continue;
        let cls = name;
        if (oneLine && name === "word") cls = "layer";
        if (name === "punct" && m[0] === "|") cls = "pipe";
        pieces.push([cls, m[0]]);
        i += m[0].length;
        break;
      }
    }
    return pieces;
  },

  // The highlighted text as DOM nodes (spans and text nodes).
  nodes(text) {
    if (text.length > Highlight.MAX_CHARS) return [document.createTextNode(text)];
    const out = [];
    text.split("\n").forEach((line, n) => {
      if (n > 0) out.push(document.createTextNode("\n"));
      for (const [cls, piece] of Highlight.line(line)) {
        if (cls === "space" || cls === "other") {
          out.push(document.createTextNode(piece));
        } else {
          const span = document.createElement("span");
          span.className = "hl-" + cls;
          span.textContent = piece;
          out.push(span);
        }
      }
    });
    out.push(document.createTextNode("\n"));  // the pre keeps the height of a last empty line
    return out;
  },
};

class Editor {
  constructor(textarea, pre, gutter) {
    this.textarea = textarea;
    this.pre = pre;
    this.gutter = gutter;
    this.bad = null;
    this.message = "";
    textarea.addEventListener("input", () => this.render());
    this.render();
  }

  // Mark `line` (1-based, or null for none) in the gutter, with the error's message.
  mark(line, message) {
    this.bad = Number.isInteger(line) ? line : null;
    this.message = message || "";
    this.renderGutter();
  }

  renderGutter() {
    const lines = this.textarea.value.split("\n").length;
    const parts = [];
    for (let i = 1; i <= lines; i++) {
      if (i > 1) parts.push(document.createTextNode("\n"));
      if (i === this.bad) {
        const span = document.createElement("span");
        span.className = "bad";
        span.textContent = String(i);
        span.title = this.message;  // an attribute holds text, never markup
        parts.push(span);
      } else {
        parts.push(document.createTextNode(String(i)));
      }
    }
    this.gutter.replaceChildren(...parts);
  }

  render() {
    this.pre.replaceChildren(...Highlight.nodes(this.textarea.value));
    this.renderGutter();
  }

  set(text) {
    this.textarea.value = text;
    this.render();
  }
}
