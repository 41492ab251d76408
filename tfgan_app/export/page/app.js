// The web export's page: reads model.json (the export's inputs and their kinds), runs
// model.onnx with onnxruntime-web (WebAssembly, one thread: no cross-origin isolation
// needed), and shows the outputs. Nothing leaves the browser. `window.tfgan` holds the state
// the page's tests read: ready, error, and the last run's inputs, output and timing.
"use strict";

const state = { ready: false, error: "", manifest: null, session: null, last: null, busy: false };
window.tfgan = state;
const $ = (id) => document.getElementById(id);
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const UNSUPPORTED = { text: "a text", mask: "a mask", label_map: "a label map" };

function fail(message) {
  state.error = message;
  $("error").textContent = message;
  $("error").hidden = false;
  $("title").textContent = "The generator could not be shown";
}

// Mulberry32: a small seeded generator, so a seed gives the same samples in every browser.
function uniforms(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(random, n) {  // Box-Muller
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))), angle = 2 * Math.PI * random();
    out[i] = r * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = r * Math.sin(angle);
  }
  return out;
}

function control(html) {
  const span = document.createElement("span");
  span.innerHTML = html;
  $("inputs").appendChild(span);
  return span;
}

function buildControls(manifest) {
  for (const input of manifest.inputs) {
    const id = `input-${input.name}`;
    if (input.kind === "label") {
      const names = input.class_names && input.class_names.length ? input.class_names
        : Array.from({ length: input.classes }, (_, i) => String(i));
      const options = names.map((name, i) => `<option value="${i}">${name}</option>`).join("");
      control(`<label>${input.name} <select id="${id}"><option value="-1">every class in turn</option>${options}</select></label>`);
      $("count").value = Math.min(64, 4 * names.length);  // four samples of each class
    } else if (input.kind === "truncation") {
      control(`<label>truncation <input id="${id}" type="range" min="0.05" max="1" step="0.05" value="${input.default ?? 1}">` +
              `<output id="${id}-value">${input.default ?? 1}</output></label>`);
      $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value; });
    } else if (input.kind === "code") {
      const categories = Array.from({ length: input.categorical }, (_, i) => `<option value="${i}">${i}</option>`).join("");
      if (input.categorical) control(`<label>category <select id="${id}-category"><option value="-1">random</option>${categories}</select></label>`);
      for (let i = input.categorical; i < input.shape[0]; i++) {
        control(`<label>code ${i - input.categorical + 1} <input id="${id}-${i}" type="range" min="-1" max="1" step="0.1" value="0"></label>`);
      }
    } else if (input.kind === "image") {
      $("upload-box").hidden = false;
      $("count").value = 1;  // one translation of the uploaded image
    } else if (input.kind === "noise") {
      $("interpolate").hidden = false;
    } else if (UNSUPPORTED[input.kind] || input.kind !== "noise") {
      throw new Error(`${input.name} takes ${UNSUPPORTED[input.kind] || input.kind}, which this page cannot make; ` +
                      "use tfgan generate or the SavedModel");
    }
  }
}

// The named input tensors for `rows` samples: noise from the seed, the rest from the controls.
function makeInputs(rows, seed) {
  const random = uniforms(seed);
  const feeds = {}, values = {};
  for (const input of state.manifest.inputs) {
    const dims = [rows, ...input.shape], size = count(dims), id = `input-${input.name}`;
    let data;
    if (input.kind === "noise") {
      data = normals(random, size);
    } else if (input.kind === "label") {
      const chosen = Number($(id).value), per = Math.ceil(rows / input.classes);
      data = Int32Array.from({ length: rows }, (_, i) => (chosen >= 0 ? chosen : Math.floor(i / per) % input.classes));
    } else if (input.kind === "truncation") {
      data = new Float32Array(size).fill(Number($(id).value));
    } else if (input.kind === "code") {
      const width = input.shape[0], chosen = input.categorical ? Number($(`${id}-category`).value) : -1;
      data = new Float32Array(size);
      for (let r = 0; r < rows; r++) {
        const category = chosen >= 0 ? chosen : Math.floor(random() * input.categorical);
        if (input.categorical) data[r * width + category] = 1;
        for (let i = input.categorical; i < width; i++) data[r * width + i] = Number($(`${id}-${i}`).value);
      }
    } else if (input.kind === "image") {
      data = state.uploaded ? tile(state.uploaded, rows) : Float32Array.from({ length: size }, () => random() * 2 - 1);
    }
    feeds[input.name] = new ort.Tensor(input.dtype === "int32" ? "int32" : "float32", data, dims);
    values[input.name] = { data: Array.from(data), dims };
  }
  return { feeds, values };
}

function tile(one, rows) {
  const out = new Float32Array(one.length * rows);
  for (let r = 0; r < rows; r++) out.set(one, r * one.length);
  return out;
}

async function run(rows, seed, zOverride) {
  const { feeds, values } = makeInputs(rows, seed);
  if (zOverride) {
    const noise = state.manifest.inputs.find((input) => input.kind === "noise");
    feeds[noise.name] = new ort.Tensor("float32", zOverride, [rows, ...noise.shape]);
    values[noise.name] = { data: Array.from(zOverride), dims: [rows, ...noise.shape] };
  }
  const started = performance.now();
  const results = await state.session.run(feeds);
  const ms = performance.now() - started;
  const output = results[state.session.outputNames[0]];
  return { values, output, ms };
}

function gridColumns(rows) {
  const label = state.manifest.inputs.find((input) => input.kind === "label");
  if (label && Number($(`input-${label.name}`).value) < 0) return Math.ceil(rows / label.classes);
  return Math.ceil(Math.sqrt(rows));
}

// Images [N, H, W, C] in [-1, 1] -> one grid on the canvas, 2 white pixels between them
// (the layout of tfgan generate's PNG grids).
function drawImages(output, columns) {
  const [n, height, width, channels] = output.dims, padding = 2;
  const rows = Math.ceil(n / columns), canvas = $("grid");
  canvas.width = columns * (width + padding) + padding;
  canvas.height = rows * (height + padding) + padding;
  const context = canvas.getContext("2d"), picture = context.createImageData(canvas.width, canvas.height);
  picture.data.fill(255);
  const data = output.data;
  for (let k = 0; k < n; k++) {
    const top = padding + Math.floor(k / columns) * (height + padding), left = padding + (k % columns) * (width + padding);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = ((k * height + y) * width + x) * channels, target = ((top + y) * canvas.width + left + x) * 4;
        for (let c = 0; c < 3; c++) {
          const value = data[source + (channels === 1 ? 0 : c)];
          picture.data[target + c] = Math.min(255, Math.max(0, Math.round((value + 1) * 127.5)));
        }
      }
    }
  }
  context.putImageData(picture, 0, 0);
  $("download").href = canvas.toDataURL("image/png");
  $("download").hidden = false;
  return { columns, height, width, padding };
}

function drawSounds(output, values) {
  const [n, samples] = output.dims, rate = state.manifest.sample_rate || 16000, box = $("sounds");
  const label = state.manifest.inputs.find((input) => input.kind === "label");
  const name = (k) => (label && label.class_names ? ` (${label.class_names[values[label.name].data[k]]})` : "");
  box.innerHTML = "";
  $("grid").hidden = true;
  for (let k = 0; k < n; k++) {
    const wave = output.data.slice(k * samples, (k + 1) * samples);
    const item = document.createElement("div");
    item.className = "sound";
    item.innerHTML = `<canvas width="320" height="60"></canvas><button type="button">Play ${k + 1}${name(k)}</button>`;
    const context = item.querySelector("canvas").getContext("2d");
    context.beginPath();
    for (let x = 0; x < 320; x++) context.lineTo(x, 30 - 29 * wave[Math.floor((x * samples) / 320)]);
    context.stroke();
    item.querySelector("button").addEventListener("click", () => {
      const audio = new AudioContext(), buffer = audio.createBuffer(1, samples, rate);
      buffer.copyToChannel(Float32Array.from(wave), 0);
      const source = audio.createBufferSource();
      source.buffer = buffer;
      source.connect(audio.destination);
      source.start();
    });
    box.appendChild(item);
  }
}

// Character distributions [N, length, vocabulary + 1] -> each position's likeliest character.
function drawText(output) {
  const [n, length, size] = output.dims, vocabulary = state.manifest.vocabulary, lines = [];
  $("grid").hidden = true;
  for (let k = 0; k < n; k++) {
    let line = "";
    for (let p = 0; p < length; p++) {
      let best = 0;
      for (let c = 1; c < size; c++) if (output.data[(k * length + p) * size + c] > output.data[(k * length + p) * size + best]) best = c;
      line += best > 0 ? vocabulary[best - 1] : "\ufffd";
    }
    lines.push(line);
  }
  $("sounds").innerHTML = "";
  const block = document.createElement("pre");
  block.id = "texts";
  block.textContent = lines.join("\n");
  $("sounds").appendChild(block);
  return lines;
}

function drawOther(output) {
  $("grid").hidden = true;
  const rows = [];
  for (let k = 0; k < Math.min(output.dims[0], 8); k++) {
    const width = count(output.dims.slice(1));
    rows.push(Array.from(output.data.slice(k * width, k * width + Math.min(width, 12)), (v) => v.toFixed(3)).join(" "));
  }
  $("sounds").textContent = rows.join("\n");
}

// Clips [N, T, H, W, C] -> a contact sheet: one clip per row, its frames across (the
// layout of tfgan generate's contact_sheet.png).
function drawClips(output) {
  const [n, frames, ...frame] = output.dims;
  return drawImages({ dims: [n * frames, ...frame], data: output.data }, frames);
}

async function generate(zOverride, rows) {
  if (state.busy) return;
  state.busy = true;
  try {
    rows = rows || Math.max(1, Math.min(64, Number($("count").value) || 1));
    const seed = Number($("seed").value) || 0;
    const { values, output, ms } = await run(rows, seed, zOverride);
    let grid = null;
    if (output.dims.length === 4) grid = drawImages(output, zOverride ? 1 : gridColumns(rows));
    else if (state.manifest.output === "video") grid = drawClips(output);
    else if (state.manifest.output === "audio") drawSounds(output, values);
    else if (state.manifest.output === "characters") drawText(output);
    else drawOther(output);
    $("timing").textContent = `${rows} samples in ${ms.toFixed(1)} ms in this browser (onnxruntime-web ${ort.env.versions.web})`;
    state.last = { inputs: values, output: { dims: output.dims }, ms, grid, seed };
  } catch (error) {
    fail(`generating failed: ${error.message || error}`);
  } finally {
    state.busy = false;
  }
}

// An animation along the latent path between the seed's sample and the next seed's
// (spherical interpolation, which keeps the noise's norm).
async function interpolate() {
  const noise = state.manifest.inputs.find((input) => input.kind === "noise");
  const seed = Number($("seed").value) || 0, width = count(noise.shape);
  const a = normals(uniforms(seed), width), b = normals(uniforms(seed + 1), width);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < width; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
  for (let step = 0; step <= 24; step++) {
    const t = step / 24, z = new Float32Array(width);
    const wa = omega > 1e-6 ? Math.sin((1 - t) * omega) / Math.sin(omega) : 1 - t;
    const wb = omega > 1e-6 ? Math.sin(t * omega) / Math.sin(omega) : t;
    for (let i = 0; i < width; i++) z[i] = wa * a[i] + wb * b[i];
    await generate(z, 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

function readUpload(file) {
  const input = state.manifest.inputs.find((entry) => entry.kind === "image");
  const [height, width, channels] = input.shape, image = new Image();
  image.onload = () => {
    const canvas = $("uploaded");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height).data, values = new Float32Array(height * width * channels);
    for (let i = 0; i < height * width; i++) {
      if (channels === 1) values[i] = (0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2]) / 127.5 - 1;
      else for (let c = 0; c < channels; c++) values[i * channels + c] = pixels[4 * i + c] / 127.5 - 1;
    }
    state.uploaded = values;
    generate();
  };
  image.src = URL.createObjectURL(file);
}

async function main() {
  let manifest;
  try {
    const response = await fetch("model.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifest = await response.json();
  } catch (error) {
    return fail(`model.json could not be read (${error.message}): open this page from an export's web/ folder ` +
                "(tfgan serve --web saved_models/NAME)");
  }
  state.manifest = manifest;
  $("title").textContent = `${manifest.name}, version ${manifest.version}`;
  $("subtitle").textContent = `${manifest.family || ""} generator, step ${manifest.step ?? "?"}: ` +
    manifest.inputs.map((input) => `${input.name} (${input.kind})`).join(", ") + ` -> ${manifest.output}`;
  if (typeof ort === "undefined") return fail("ort.wasm.min.js (onnxruntime-web) is missing from this folder: export the model again");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = "./";
  try {
    const response = await fetch("model.onnx");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.session = await ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()));
  } catch (error) {
    return fail(`model.onnx could not be loaded (${error.message || error}); export the model again ` +
                "(tfgan export --formats savedmodel,onnx,web)");
  }
  try {
    buildControls(manifest);
  } catch (error) {
    return fail(error.message);
  }
  $("controls").hidden = false;
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); generate(); });
  $("new-samples").addEventListener("click", () => { $("seed").value = Number($("seed").value) + 1; generate(); });
  $("interpolate").addEventListener("click", interpolate);
  $("upload").addEventListener("change", (event) => { if (event.target.files[0]) readUpload(event.target.files[0]); });
  await generate();
  state.ready = true;
}

main();
