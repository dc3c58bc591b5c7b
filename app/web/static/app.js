// Live mode for the digitserve page. Without JavaScript the form posts to / and the server renders.
"use strict";
document.documentElement.classList.add("js");

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function currentTask() {
  const checked = document.querySelector("input[name=task]:checked");
  return checked ? checked.value : "digit";
}

function syncNumberField() {
  $("number-field").hidden = currentTask() !== "sum";
  syncSecondDigit();
  const canvas = $("canvas");
  const wide = currentTask() === "number";
  const width = wide ? Number(canvas.dataset.wideWidth) : canvas.height;
  if (canvas.width !== width) {
    canvas.width = width;
    canvas.classList.toggle("wide", wide);
    clearCanvas();
  }
}

function drawBars(view) {
  const svg = $("bars");
  svg.replaceChildren();
  const result = view.result;
  result.probabilities.forEach((p, d) => {
    const chosen = view.task === "overlap" ? result.digits.includes(d) : d === result.digit;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", d * 30 + 4);
    rect.setAttribute("y", 100 - 95 * p);
    rect.setAttribute("width", 22);
    rect.setAttribute("height", 95 * p);
    rect.setAttribute("class", chosen ? "chosen" : "bar");
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", d * 30 + 15);
    label.setAttribute("y", 115);
    label.setAttribute("text-anchor", "middle");
    label.textContent = String(d);
    svg.append(rect, label);
  });
}

function answerText(view) {
  const r = view.result;
  if (view.task === "number") return ["Number ", r.text, ` (${(100 * r.confidence).toFixed(1)}% confident)`];
  if (view.task === "digit") return [`Digit `, String(r.digit), ` (${(100 * r.confidence).toFixed(1)}% confident)`];
  if (view.task === "overlap") return ["Digits ", r.digits.join(" and "), ""];
  return ["", `${r.digit} + ${r.number} = ${r.sum}`, ` (${(100 * r.confidence).toFixed(1)}% confident)`];
}

function render(view, fileUrl) {
  const imageUrl = view.uploaded || fileUrl;  // the server's thumbnail of a file the browser cannot show (HEIC)
  $("result").hidden = false;
  // Several digits refused by a one-digit task: offer to read the same upload as a number.
  $("as-number").hidden = !(view.error && view.reason === "several_digits" && currentTask() !== "number");
  const error = $("error");
  if (view.error) {
    error.textContent = view.error;
    error.hidden = false;
    $("answer-block").hidden = true;
    return;
  }
  error.hidden = true;
  $("answer-block").hidden = false;
  const number = view.task === "number";
  $("uploaded").src = imageUrl;
  $("uploaded-caption").textContent = last && last.drawing
    ? `your drawing, as sent: ${sentAveraged ? "two digits averaged, each " : ""}redrawn with a ${sentPen}-px pen`
    : `your image: ${last ? last.filename : ""}`;
  $("preview").src = view.preview;
  $("uploaded-figure").hidden = number;
  $("preview-figure").hidden = number;
  $("boxes-figure").hidden = !number;
  $("crops-figure").hidden = !number;
  $("bars").toggleAttribute("hidden", number);  // an SVG element has no `hidden` property
  const [before, strong, after] = answerText(view);
  const b = document.createElement("strong");
  b.textContent = strong;
  if (number) b.className = "number-answer";
  $("answer").replaceChildren(document.createTextNode(before), b, document.createTextNode(after));
  $("model-line").textContent = `model ${view.model.name} (${view.model.arch}, version ${view.model.version})`;
  if (number) drawBoxes(view, imageUrl);
  else drawBars(view);
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  Object.entries(attributes).forEach(([k, v]) => element.setAttribute(k, v));
  return element;
}

function drawBoxes(view, imageUrl) {
  const svg = $("boxes");
  // The region the server chose (pages.py: figure_region): the writing, zoomed, when it is small.
  const [fx, fy, fw, fh] = view.figure || [0, 0, view.width, view.height];
  const unit = Math.max(fw, fh) / 100;
  svg.setAttribute("viewBox", `${fx} ${fy} ${fw} ${fh}`);
  $("boxes-caption").textContent = "each digit found" + (view.result.marks.length ? ", each mark dashed" : "")
    + (fw < view.width || fh < view.height ? " (the photo zoomed to the writing)" : "");
  svg.replaceChildren(svgElement("image", { href: imageUrl, x: 0, y: 0, width: view.width, height: view.height,
    preserveAspectRatio: "none" }));
  view.result.digits.forEach((d) => {
    const [x, y, w, h] = d.box;
    svg.append(svgElement("rect", { class: "box", x, y, width: w, height: h, "stroke-width": unit * 0.6 }));
    const label = svgElement("text", { class: "box-label", x, y, "font-size": unit * 4 });
    const percent = `${(100 * d.confidence).toFixed(0)}%`;
    label.textContent = `${d.digit} ${percent}`;
    svg.append(label);
    fitLabelToBox(label, w, unit * 4, `${d.digit}`);
    keepLabelInside(label, y, h, fy, fy + fh);
    const title = svgElement("title", {});
    title.textContent = `${d.digit}: ${percent} confident`;
    label.append(title);
  });
  // Marks written among the digits (a comma, a point, a dash, a plus, brackets...): boxed dashed, not read as digits.
  view.result.marks.forEach((m) => {
    const [x, y, w, h] = m.box;
    const rect = svgElement("rect", { class: "mark-box", x, y, width: w, height: h, "stroke-width": unit * 0.4 });
    const title = svgElement("title", {});
    title.textContent = `"${m.mark}": a mark, not a digit`;
    rect.append(title);
    svg.append(rect);
  });
  $("crops").replaceChildren(...view.previews.map((src, i) => {
    const img = document.createElement("img");
    Object.assign(img, { src, width: 56, height: 56, alt: `digit ${i + 1} as the model saw it`, className: "pixelated" });
    const d = view.result.digits[i];
    const caption = document.createElement("span");
    caption.textContent = d ? `${d.digit} · ${(100 * d.confidence).toFixed(0)}%` : "";
    const crop = document.createElement("span");
    crop.className = "crop";
    crop.append(img, caption);
    return crop;
  }));
}

// A label is no wider than its box, so that neighbouring digits' labels do not run into each other:
// where the digit and its confidence do not fit, the digit alone (the confidence stays in its tooltip),
// shrunk if need be down to half its font size.
function fitLabelToBox(label, boxWidth, size, digitOnly) {
  if (label.getBBox().width <= boxWidth) return;
  label.textContent = digitOnly;
  const width = label.getBBox().width;
  if (width > boxWidth) label.setAttribute("font-size", Math.max(size / 2, size * boxWidth / width));
}

// A label sits on its box's top edge; where that cuts it off at the figure's top, it goes below the
// box, or else just inside the figure. The label's height is measured, not assumed from its font
// size: a font's line box is 1.1-1.5 times the size, depending on which fonts the browser has.
function keepLabelInside(label, boxY, boxHeight, viewTop, viewBottom) {
  const { y: top, height } = label.getBBox();
  if (top >= viewTop) return;
  const below = boxY + boxHeight + height;
  label.setAttribute("y", below <= viewBottom ? below : boxY + viewTop - top);
}

// The last upload sent (its blob and name, and whether it was the drawing): "Read it as a number"
// sends it again in Number mode.
let last = null;
let latest = 0;  // the newest request: a drawing asks at every stroke, and an older answer may come later

async function predict(blob, filename, drawing = false) {
  const ticket = ++latest;
  last = { blob, filename, drawing };
  const data = new FormData();
  data.append("task", currentTask());
  data.append("number", $("number").value);
  data.append("file", blob, filename);
  const imageUrl = URL.createObjectURL(blob);
  try {
    const response = await fetch("/ui/predict", { method: "POST", body: data });
    const view = await response.json();
    if (ticket !== latest) return;  // superseded: the newer request's answer is the one to show
    if (!response.ok && !view.error) view.error = view.detail || `request failed (${response.status})`;
    render(view, imageUrl);
  } catch (err) {
    if (ticket === latest) render({ error: `could not reach the server: ${err}` }, imageUrl);
  }
}

function setupUpload() {
  const input = $("file");
  input.addEventListener("change", () => input.files[0] && predict(input.files[0], input.files[0].name));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (ev) => {
    const file = ev.dataTransfer.files[0];
    if (file) predict(file, file.name);
  });
  $("predict-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.files[0]) predict(input.files[0], input.files[0].name);
    else if (drawn) predictDrawing();
    else render({ error: "choose an image file or draw a digit first" }, "");
  });
}

// An example link reads its file with the task it was made for, as if the user had uploaded it
// (without JavaScript the link downloads the file).
function setupExamples() {
  document.querySelectorAll("a.example").forEach((link) => link.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const radio = document.querySelector(`input[name=task][value="${link.dataset.task}"]`);
    radio.checked = true;
    syncNumberField();
    try {
      const response = await fetch(link.href);
      if (!response.ok) throw new Error(`${response.status}`);
      predict(await response.blob(), link.pathname.split("/").pop());
    } catch (err) {
      render({ error: `could not load the example: ${err.message}` }, "");
    }
  }));
}

let drawn = false;
let strokes = [];  // what was drawn, as lists of [x, y] canvas points: the upload is redrawn from them
let sentPen = 0;  // the pen the last uploaded drawing was redrawn with
let sentAveraged = false;  // whether it was two digits averaged (Overlap mode)
// Overlap mode: where in `strokes` the second digit begins (null: one digit so far). The overlap model
// reads two digits averaged pixel-wise; two drawn over each other with one pen are one pen's ink, which
// the route judges as one digit (app/ml/ink.py: averaged). So the page draws each digit apart and
// uploads their average, and shows the second digit in another colour.
let secondFrom = null;
const SECOND_INK = "#ffc04d";

// The pen the upload is drawn with (app/web/pages.py: upload_pen, which hands the page both numbers):
// the canvas pen suits a digit that fills the canvas, but a small digit drawn with it is a blob whose
// loops have filled up, which no processing of the image can open again. The strokes are known here,
// so the upload is drawn along them with a pen a share of the drawing's extent, never wider: its larger
// side, or in Number mode its height (a line of digits is many digits wide).
function uploadPen(points) {
  const { pen, penShare } = $("canvas").dataset;
  const span = (i) => Math.max(...points.map((p) => p[i])) - Math.min(...points.map((p) => p[i]));
  const extent = currentTask() === "number" ? span(1) : Math.max(span(0), span(1));
  return Math.min(Number(pen), Math.max(2, Math.round(Number(penShare) * extent)));
}

// A round pen of `width` px on `ctx` (the canvas, and the upload drawn again from its strokes), white
// unless the canvas shows Overlap mode's second digit.
function usePen(ctx, width, colour = "#fff") {
  Object.assign(ctx, { strokeStyle: colour, lineWidth: width, lineCap: "round", lineJoin: "round" });
}

// A stroke along its points; a tap (one point) is a dot as wide as the pen (a point, a colon's dots),
// which a path of one point would not draw at all.
function strokePath(ctx, stroke) {
  ctx.beginPath();
  if (stroke.length === 1) {
    ctx.arc(...stroke[0], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fill();
    return;
  }
  ctx.moveTo(...stroke[0]);
  stroke.slice(1).forEach((p) => ctx.lineTo(...p));
  ctx.stroke();
}

function clearCanvas() {
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawn = false;
  strokes = [];
  secondFrom = null;
  syncSecondDigit();
}

// The digits drawn, as groups of strokes: two in Overlap mode once the second digit has strokes.
function drawnDigits() {
  if (currentTask() !== "overlap" || secondFrom === null || secondFrom >= strokes.length) return [strokes];
  return [strokes.slice(0, secondFrom), strokes.slice(secondFrom)];
}

function syncSecondDigit() {
  const button = $("second-digit");
  button.hidden = $("overlap-hint").hidden = currentTask() !== "overlap";
  button.disabled = strokes.length === 0 || secondFrom !== null;
  button.textContent = secondFrom === null ? "Draw the second digit" : "Drawing the second digit";
}

function startSecondDigit() {
  if (strokes.length === 0 || secondFrom !== null) return;
  secondFrom = strokes.length;
  syncSecondDigit();
}

// The drawing as uploaded: white strokes on black, the canvas's size, redrawn with `uploadPen`; two
// digits (Overlap mode) each drawn alone, then averaged pixel-wise.
function uploadCanvas() {
  const shown = $("canvas");
  const layer = (group) => {
    const out = document.createElement("canvas");
    out.width = shown.width;
    out.height = shown.height;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    usePen(ctx, sentPen);
    group.forEach((s) => strokePath(ctx, s));
    return out;
  };
  sentPen = uploadPen(strokes.flat());
  const digits = drawnDigits().map(layer);
  sentAveraged = digits.length === 2;
  if (!sentAveraged) return digits[0];
  const out = layer([]);
  const ctx = out.getContext("2d");
  ctx.globalAlpha = 0.5;
  ctx.drawImage(digits[0], 0, 0);
  ctx.globalCompositeOperation = "lighter";
  ctx.drawImage(digits[1], 0, 0);
  return out;
}

function predictDrawing() {
  uploadCanvas().toBlob((blob) => predict(blob, "drawing.png", true), "image/png");
}

// Number mode for what was just refused as several digits: the same file, or the same strokes on the
// wide canvas (widening a canvas clears it, so they are drawn again where they were).
function readAsNumber() {
  if (!last) return;
  const kept = strokes;
  document.querySelector("input[name=task][value=number]").checked = true;
  syncNumberField();
  if (!last.drawing) return predict(last.blob, last.filename);
  const ctx = $("canvas").getContext("2d");
  usePen(ctx, Number($("canvas").dataset.pen));
  kept.forEach((s) => strokePath(ctx, s));
  strokes = kept;
  drawn = true;
  predictDrawing();
}

function setupCanvas() {
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  clearCanvas();
  let drawing = false;
  const point = (ev) => {
    const box = canvas.getBoundingClientRect();
    return [(ev.clientX - box.left) * canvas.width / box.width, (ev.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
    usePen(ctx, Number(canvas.dataset.pen), secondFrom !== null && currentTask() === "overlap" ? SECOND_INK : "#fff");
    const p = point(ev);
    strokePath(ctx, [p]);  // the pen's dot where it touches down: a tap leaves one
    ctx.beginPath();
    ctx.moveTo(...p);
    strokes.push([p]);
    drawn = true;
    syncSecondDigit();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    const p = point(ev);
    ctx.lineTo(...p);
    ctx.stroke();
    strokes[strokes.length - 1].push(p);
    drawn = true;
  });
  const end = () => { if (drawing) { drawing = false; if (drawn) predictDrawing(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", clearCanvas);
  $("second-digit").addEventListener("click", startSecondDigit);
  $("predict-drawing").addEventListener("click", () => drawn && predictDrawing());
  $("as-number").addEventListener("click", readAsNumber);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[name=task]").forEach((r) => r.addEventListener("change", syncNumberField));
  setupUpload();
  setupExamples();
  setupCanvas();
  syncNumberField();
});
