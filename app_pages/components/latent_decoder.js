// Latent decoder (Streamlit Components v2): one slider per latent dimension, a 2-D plane for
// 2-D models and a traversal player, with the image decoded in this page on every input event.
//
// The forward pass is hand-written on typed arrays: the shipped decoders are three dense
// layers (K -> 512 -> 512 -> 784, about 0.7 M multiply-adds), which these loops run in about
// a millisecond. No inference runtime is downloaded, nothing comes from a CDN, and it works
// offline. Weights arrive once as fp16 with a CRC-32 (explorer/web_decoder.py); a self-test
// decode must match torch within one 8-bit level before the page trusts the result.

const SPAN = 3; // sliders and plane cover z in [-SPAN, SPAN], prior standard deviations
const PLAY_MS = 4000; // one traversal, -SPAN -> +SPAN -> -SPAN
const KEY_STEP = 0.05; // arrow keys; Shift+arrow and PageUp/PageDown move BIG_STEP
const BIG_STEP = 0.5;
const PLANE_TILES = 14; // the plane's background is a PLANE_TILES^2 grid of decoded codes
const KEEP_TIMINGS = 4000; // decode timings and paint times kept for tests and benchmarks

const decoders = new Map(); // checksum -> Decoder, shared by every instance in this page
const views = new WeakMap(); // component container -> View

export default function (component) {
  let view = views.get(component.parentElement);
  if (!view) {
    view = new View(component.parentElement);
    views.set(component.parentElement, view);
  }
  view.component = component; // the newest setStateValue / setTriggerValue
  try {
    view.update(unpack(component.data));
  } catch (error) {
    view.fail(error.message);
  }
}

// ---- message and weights ---------------------------------------------------------------

// The message is bytes: uint32 LE header length, the header as UTF-8 JSON, then the fp16
// weights (empty once this page holds them).
function unpack(data) {
  if (!(data instanceof Uint8Array)) throw new Error("no data");
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length)));
  return { header, weights: data.subarray(4 + length) };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) { // zlib's CRC-32, as Python's zlib.crc32
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function halfToFloat(h) { // IEEE 754 binary16 -> number, exact
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), for the exact GELU x * Phi(x).
function gelu(x) {
  const u = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * u);
  const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
    + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-u * u);
  return 0.5 * x * (1 + (x < 0 ? -y : y));
}

class Decoder {
  constructor(spec, weights) {
    const bytes = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
    let offset = 0;
    const read = (n) => {
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++, offset += 2) {
        values[i] = halfToFloat(bytes.getUint16(offset, true));
      }
      return values;
    };
    this.layers = spec.layers.map(([out, inputs]) => ({
      out, inputs, weight: read(out * inputs), bias: read(out), y: new Float32Array(out),
    }));
    if (offset !== weights.byteLength) throw new Error("the weights do not fit the layer shapes");
    this.input = new Float32Array(spec.latent_dim);
    [this.height, this.width] = spec.image_shape;
    this.pixels = this.height * this.width;
  }

  // z (K numbers) -> grey levels round(255 * sigmoid(MLP(z))) written into RGBA pixels.
  decode(z, rgba) {
    let x = this.input;
    for (let k = 0; k < x.length; k++) x[k] = z[k];
    const last = this.layers.length - 1;
    this.layers.forEach(({ out, inputs, weight, bias, y }, l) => {
      for (let o = 0, row = 0; o < out; o++, row += inputs) {
        let sum = bias[o];
        for (let i = 0; i < inputs; i++) sum += weight[row + i] * x[i];
        y[o] = l < last ? gelu(sum) : sum;
      }
      x = y;
    });
    for (let p = 0, q = 0; p < this.pixels; p++, q += 4) {
      const level = Math.round(255 / (1 + Math.exp(-x[p])));
      rgba[q] = rgba[q + 1] = rgba[q + 2] = level;
      rgba[q + 3] = 255;
    }
  }
}

function loadDecoder(spec, weights) {
  if (crc32(weights) !== spec.checksum) throw new Error("the weights failed their CRC-32 check");
  const decoder = new Decoder(spec, weights);
  const rgba = new Uint8ClampedArray(4 * decoder.pixels);
  decoder.decode(spec.selftest_z, rgba);
  for (let p = 0; p < decoder.pixels; p++) {
    if (Math.abs(rgba[4 * p] - spec.selftest_levels[p]) > 1) {
      throw new Error("its self-test decode differs from the server's");
    }
  }
  return decoder;
}

// ---- the view ----------------------------------------------------------------------------

function element(tag, className, attributes = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

const clamp = (value) => Math.min(SPAN, Math.max(-SPAN, value));
const format = (value) => {  // rounded first, so a tiny negative reads 0.00, not -0.00
  const rounded = Math.round(value * 100) / 100;
  return (rounded < 0 ? "\u2212" : "") + Math.abs(rounded).toFixed(2);
};

class View {
  constructor(parent) {
    this.root = element("div", "ld-root", { "data-status": "loading" });
    this.root.latentView = this; // read by tests and benchmarks/browser_decode.py
    parent.appendChild(this.root);
    this.z = [];
    this.hover = null; // a code under the pointer on the plane, decoded instead of z
    this.play = null; // {dim, saved, started} while a traversal plays
    this.decodeMs = [];
    this.paintTimes = [];
    this.frames = 0;
  }

  update({ header, weights }) {
    if (this.failed) return;
    const spec = header.decoder;
    if (!decoders.has(spec.checksum)) {
      if (weights.length === 0) { // this page lost them (a rerun cut short): ask again
        this.showStatus("Loading the decoder\u2026");
        this.component.setTriggerValue("need_weights", spec.checksum);
        return;
      }
      const canvas = document.createElement("canvas");
      if (typeof Float32Array !== "function" || !canvas.getContext("2d")) {
        throw new Error("this browser has no typed arrays or 2-D canvas");
      }
      decoders.set(spec.checksum, loadDecoder(spec, weights));
    }
    this.decoder = decoders.get(spec.checksum);
    this.weightBytes = spec.nbytes;
    const layout = JSON.stringify([spec.checksum, header.order, header.labels, header.plane]);
    if (layout !== this.layout) this.build(header, layout);
    if (header.start_id !== this.startId) { // a new input: start from its encoding
      this.stopPlay(); // first: stopping puts the swept value back, into the old code
      this.startId = header.start_id;
      this.start = header.start.slice();
      this.z = header.start.slice();
    }
    this.order.forEach((d) => this.syncSlider(d)); // new sliders after a rebuild, or a new start
    this.root.dataset.status = "ready";
    this.schedule();
  }

  fail(reason) {
    if (this.failed) return;
    this.failed = true;
    this.root.dataset.status = "failed";
    this.root.replaceChildren(element("p", "ld-status"));
    this.root.firstChild.textContent = `The in-page decoder is off: ${reason}.`;
    this.component?.setStateValue("failure", reason);
  }

  showStatus(text) {
    this.root.replaceChildren(element("p", "ld-status", { role: "status" }));
    this.root.firstChild.textContent = text;
    this.layout = null;
  }

  build(header, layout) {
    this.layout = layout;
    this.order = header.order;
    this.sliders = {};
    this.readouts = {};
    const sliders = element("div", "ld-sliders", { role: "group", "aria-label": "Latent code z" });
    for (const d of header.order) {
      const row = element("div", "ld-row");
      const label = element("label", "ld-label", { for: `ld-z${d}` });
      label.textContent = header.labels[d];
      const readout = element("output", "ld-value", { for: `ld-z${d}` });
      const slider = element("input", "ld-range", {
        type: "range", id: `ld-z${d}`, min: -SPAN, max: SPAN, step: "any", "data-dim": d,
      });
      slider.addEventListener("input", () => this.setDim(d, Number(slider.value)));
      slider.addEventListener("change", () => this.send());
      slider.addEventListener("keydown", (event) => this.onKey(event, [d]));
      row.append(label, readout, slider);
      sliders.append(row);
      this.sliders[d] = slider;
      this.readouts[d] = readout;
    }

    this.canvas = element("canvas", "ld-image", {
      width: this.decoder.width, height: this.decoder.height,
      role: "img", "aria-label": "Image decoded from z",
    });
    this.context = this.canvas.getContext("2d");
    this.image = this.context.createImageData(this.canvas.width, this.canvas.height);
    this.caption = element("figcaption", "ld-caption");
    const figure = element("figure", "ld-figure");
    figure.append(this.canvas, this.caption);
    const pictures = element("div", "ld-pictures");
    pictures.append(figure);
    this.plane = null;
    if (header.plane) pictures.append(this.buildPlane(header.order));

    this.dimension = element("select", "ld-dim", { "aria-label": "Dimension to traverse" });
    for (const d of header.order) this.dimension.append(new Option(header.labels[d], d));
    this.playButton = element("button", "ld-button ld-play", {
      type: "button", "aria-pressed": "false",
    });
    this.playButton.addEventListener("click", () => {
      if (this.play) this.stopPlay();
      else this.startPlay();
    });
    const reset = element("button", "ld-button", { type: "button" });
    reset.textContent = "Reset to the encoding";
    reset.addEventListener("click", () => {
      this.stopPlay();
      this.z = this.start.slice();
      this.order.forEach((dim) => this.syncSlider(dim));
      this.schedule();
      this.send();
    });
    const controls = element("div", "ld-controls");
    const traverse = element("label", "ld-traverse");
    traverse.append("Traverse ", this.dimension);
    controls.append(traverse, this.playButton, reset);
    this.footnote = element("p", "ld-footnote");

    const side = element("div", "ld-side");
    side.append(pictures, controls, this.footnote);
    this.root.replaceChildren(sliders, side);
    this.root.classList.toggle("ld-few", header.order.length <= 2);
    this.root.classList.toggle("ld-projector", Boolean(header.projector)); // the page's 24 px
    this.stopPlay();
  }

  buildPlane(order) {
    const [across, up] = [...order].sort((a, b) => a - b); // z0 across, z1 up, as the page's grid
    const canvas = element("canvas", "ld-plane", {
      tabindex: 0, role: "application",
      "aria-label": `Latent plane, z${across} across and z${up} up from \u2212${SPAN} to ${SPAN}: `
        + "hover to preview, drag or use the arrow keys to move",
    });
    const caption = element("figcaption", "ld-caption");
    caption.textContent = `z${across} \u2192, z${up} \u2191, each \u2212${SPAN} to ${SPAN}. `
      + "Hover to preview, drag to set.";
    const size = 280 * Math.max(1, Math.round(window.devicePixelRatio || 1));
    canvas.width = canvas.height = size;
    const accent = getComputedStyle(this.root).getPropertyValue("--st-primary-color").trim();
    this.plane = {
      canvas, context: canvas.getContext("2d"), across, up, size, accent: accent || "#ff4b4b",
    };
    const codeAt = (event) => {
      const box = canvas.getBoundingClientRect();
      const z = this.z.slice();
      z[across] = clamp(-SPAN + (2 * SPAN * (event.clientX - box.left)) / box.width);
      z[up] = clamp(SPAN - (2 * SPAN * (event.clientY - box.top)) / box.height);
      return z;
    };
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.dragging = true;
      this.hover = null;
      this.stopPlay();
      this.setCode(codeAt(event));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (this.dragging) this.setCode(codeAt(event));
      else {
        this.hover = codeAt(event);
        this.schedule();
      }
    });
    const release = () => {
      if (!this.dragging) return;
      this.dragging = false;
      this.send();
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    canvas.addEventListener("pointerleave", () => {
      this.hover = null;
      this.schedule();
    });
    canvas.addEventListener("keydown", (event) => this.onKey(event, [across, up]));
    this.drawManifold();
    const figure = element("figure", "ld-figure");
    figure.append(canvas, caption);
    return figure;
  }

  // The plane's background: decoded codes on a grid, a few rows per frame to stay responsive.
  async drawManifold() {
    const plane = this.plane;
    const tile = this.canvas.width;
    const side = tile * PLANE_TILES;
    const sheet = element("canvas", null, { width: side, height: side });
    const context = sheet.getContext("2d");
    const image = context.createImageData(tile, tile);
    const z = new Array(this.order.length).fill(0); // a plane is shown for 2-D models only
    for (let row = 0; row < PLANE_TILES; row++) {
      for (let column = 0; column < PLANE_TILES; column++) {
        z[plane.across] = -SPAN + (2 * SPAN * (column + 0.5)) / PLANE_TILES;
        z[plane.up] = SPAN - (2 * SPAN * (row + 0.5)) / PLANE_TILES;
        this.decoder.decode(z, image.data);
        context.putImageData(image, column * tile, row * tile);
      }
      if (row % 4 === 3) await new Promise(requestAnimationFrame);
      if (this.plane !== plane) return;
    }
    plane.background = sheet;
    this.schedule();
  }

  onKey(event, dims) {
    const step = event.shiftKey || event.key.startsWith("Page") ? BIG_STEP : KEY_STEP;
    const moves = {
      ArrowRight: [step, 0], ArrowUp: [0, step], ArrowLeft: [-step, 0], ArrowDown: [0, -step],
      PageUp: [0, step], PageDown: [0, -step], Home: [-2 * SPAN, 0], End: [2 * SPAN, 0],
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    this.stopPlay();
    const z = this.z.slice();
    if (dims.length === 1) z[dims[0]] = clamp(z[dims[0]] + (move[0] || move[1]));
    else dims.forEach((d, axis) => (z[d] = clamp(z[d] + move[axis])));
    this.setCode(z);
    clearTimeout(this.sendTimer); // held keys repeat: send once they settle
    this.sendTimer = setTimeout(() => this.send(), 250);
  }

  setDim(d, value) {
    this.stopPlay();
    this.z[d] = value;
    this.readouts[d].textContent = format(value);
    this.sliders[d].setAttribute("aria-valuetext", format(value));
    this.schedule();
  }

  setCode(z) {
    this.z = z;
    this.order.forEach((d) => this.syncSlider(d));
    this.schedule();
  }

  syncSlider(d) {
    const slider = this.sliders?.[d];
    if (!slider) return;
    slider.value = clamp(this.z[d]);
    slider.setAttribute("aria-valuetext", format(this.z[d]));
    this.readouts[d].textContent = format(this.z[d]);
  }

  send() {
    clearTimeout(this.sendTimer);
    this.component.setStateValue("z", { z: this.z.slice(), start_id: this.startId });
  }

  startPlay() {
    const dim = Number(this.dimension.value);
    this.play = { dim, saved: this.z[dim], started: performance.now() };
    this.playButton.textContent = "\u25A0 Stop";
    this.playButton.setAttribute("aria-pressed", "true");
    this.schedule();
  }

  // A traversal is a preview: the played dimension returns to its value when it stops.
  stopPlay() {
    if (this.play) {
      this.z[this.play.dim] = this.play.saved;
      this.syncSlider(this.play.dim);
      this.schedule();
    }
    this.play = null;
    if (this.playButton) {
      this.playButton.textContent = "\u25B6 Play";
      this.playButton.setAttribute("aria-pressed", "false");
    }
  }

  schedule() {
    if (this.pending || !this.canvas) return;
    this.pending = true;
    requestAnimationFrame((now) => this.paint(now));
  }

  // One decode per frame, however many input events arrived since the last one.
  paint(now) {
    this.pending = false;
    if (this.failed) return;
    try {
      this.draw(now);
    } catch (error) {
      this.fail(error.message);
    }
  }

  draw(now) {
    if (this.play) {
      const phase = (now - this.play.started) / PLAY_MS;
      if (phase >= 1) this.stopPlay();
      else {
        this.z[this.play.dim] = -SPAN + 2 * SPAN * (1 - Math.abs(1 - 2 * phase));
        this.syncSlider(this.play.dim);
      }
    }
    const code = this.hover ?? this.z;
    const started = performance.now();
    this.decoder.decode(code, this.image.data);
    const ms = performance.now() - started;
    this.context.putImageData(this.image, 0, 0);
    this.decodeMs.push(ms);
    this.paintTimes.push(now);
    if (this.decodeMs.length > KEEP_TIMINGS) this.decodeMs.splice(0, KEEP_TIMINGS / 2);
    if (this.paintTimes.length > KEEP_TIMINGS) this.paintTimes.splice(0, KEEP_TIMINGS / 2);
    this.frames += 1;
    this.root.dataset.frames = this.frames;
    this.caption.textContent = this.hover ? "Under the pointer" : "Decoded in your browser";
    if (!this.lastText || now - this.lastText > 250) {
      this.lastText = now;
      const megabytes = (this.weightBytes / 1e6).toFixed(2);
      this.footnote.textContent = `Your browser runs the decoder: ${ms.toFixed(1)} ms a `
        + `picture, no trip to the server (its weights, ${megabytes} MB, were sent once).`;
    }
    if (this.plane) this.drawPlane(code);
    if (this.play) this.schedule();
  }

  drawPlane(code) {
    const { context, size, background, across, up } = this.plane;
    context.fillStyle = "#000";
    context.fillRect(0, 0, size, size);
    if (background) {
      context.globalAlpha = 0.55;
      context.drawImage(background, 0, 0, size, size);
      context.globalAlpha = 1;
    }
    const ring = (z, radius, color) => {
      const x = ((z[across] + SPAN) / (2 * SPAN)) * size;
      const y = ((SPAN - z[up]) / (2 * SPAN)) * size;
      context.beginPath();
      context.arc(x, y, radius, 0, 2 * Math.PI);
      context.lineWidth = size / 140;
      context.strokeStyle = color;
      context.stroke();
    };
    ring(this.z, size / 40, "#fff");
    ring(this.z, size / 28, this.plane.accent);
    if (code !== this.z) ring(code, size / 60, "#fff");
  }
}
