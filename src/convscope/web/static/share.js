// convscope's web page: the page's state (the description, the what-if settings, the
// second description of a comparison) kept in the URL fragment, so that a link
// reproduces the page. A fragment is never sent to any server: sharing a link sends
// nothing anywhere, and opening one asks only this page's own server to analyse it.
//
//   #z=<base64url of the state's JSON compressed with deflate-raw (CompressionStream)>
//   #j=<the state's JSON, URI-encoded>   (browsers without CompressionStream)
//
// Decoding is bounded (MAX_TEXT characters) so a small link cannot expand into a huge
// text, and only known fields of the expected types are taken from a link.
"use strict";

const Share = {
  MAX_TEXT: 256 * 1024,  // the server's limit of a request body
  FIELDS: {text: "string", input: "string", batch: "number", dtype: "string",
           optimizer: "string", other: "string"},

  base64url(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000)
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },

  unbase64url(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  },

  // Read a stream of bytes as UTF-8 text, at most `limit` bytes (else null).
  async readBounded(stream, limit) {
    const reader = stream.getReader();
    const parts = [];
    let size = 0;
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) { reader.cancel(); return null; }
      parts.push(value);
    }
    return new TextDecoder().decode(await new Blob(parts).arrayBuffer());
  },

  // The fragment (without '#') of a state object.
  async encode(state) {
    const json = JSON.stringify(state);
    if (typeof CompressionStream === "function") {
      const stream = new Blob([json]).stream()
        .pipeThrough(new CompressionStream("deflate-raw"));
      const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      return "z=" + Share.base64url(bytes);
    }
    return "j=" + encodeURIComponent(json);
  },

  // The state held by a fragment ('#z=...' or '#j=...'), or null when there is none or it
  // cannot be read. Unknown fields and fields of the wrong type are dropped.
  async decode(fragment) {
    const hash = (fragment || "").replace(/^#/, "");
    let json = null;
    try {
      if (hash.startsWith("z=") && typeof DecompressionStream === "function") {
        const stream = new Blob([Share.unbase64url(hash.slice(2))]).stream()
          .pipeThrough(new DecompressionStream("deflate-raw"));
        json = await Share.readBounded(stream, 4 * Share.MAX_TEXT);
      } else if (hash.startsWith("j=")) {
        json = decodeURIComponent(hash.slice(2));
      }
      if (json === null || json.length > 4 * Share.MAX_TEXT) return null;
      const data = JSON.parse(json);
      if (!data || typeof data !== "object" || typeof data.text !== "string") return null;
      const state = {};
      for (const [key, type] of Object.entries(Share.FIELDS))
        if (typeof data[key] === type) state[key] = data[key];
      return state;
    } catch (e) {
      return null;  // a damaged or foreign fragment: the page starts as usual
    }
  },
};
