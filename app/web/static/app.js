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
  if (view.task === "digit") return [`Digit `, String(r.digit), ` (${(100 * r.confidence).toFixed(1)}% confident)`];
  if (view.task === "overlap") return ["Digits ", r.digits.join(" and "), ""];
  return ["", `${r.digit} + ${r.number} = ${r.sum}`, ` (${(100 * r.confidence).toFixed(1)}% confident)`];
}

function render(view, imageUrl) {
  $("result").hidden = false;
  const error = $("error");
  if (view.error) {
    error.textContent = view.error;
    error.hidden = false;
    $("answer-block").hidden = true;
    return;
  }
  error.hidden = true;
  $("answer-block").hidden = false;
  $("uploaded").src = imageUrl;
  $("preview").src = view.preview;
  const [before, strong, after] = answerText(view);
  const b = document.createElement("strong");
  b.textContent = strong;
  $("answer").replaceChildren(document.createTextNode(before), b, document.createTextNode(after));
  $("model-line").textContent = `model ${view.model.name} (${view.model.arch}, version ${view.model.version})`;
  drawBars(view);
}

async function predict(blob, filename) {
  const data = new FormData();
  data.append("task", currentTask());
  data.append("number", $("number").value);
  data.append("file", blob, filename);
  const imageUrl = URL.createObjectURL(blob);
  try {
    const response = await fetch("/ui/predict", { method: "POST", body: data });
    const view = await response.json();
    if (!response.ok && !view.error) view.error = view.detail || `request failed (${response.status})`;
    render(view, imageUrl);
  } catch (err) {
    render({ error: `could not reach the server: ${err}` }, imageUrl);
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

let drawn = false;

function predictDrawing() {
  $("canvas").toBlob((blob) => predict(blob, "drawing.png"), "image/png");
}

function setupCanvas() {
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); drawn = false; };
  clear();
  let drawing = false;
  const point = (ev) => {
    const box = canvas.getBoundingClientRect();
    return [(ev.clientX - box.left) * canvas.width / box.width, (ev.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...point(ev));
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    ctx.lineTo(...point(ev));
    ctx.stroke();
    drawn = true;
  });
  const end = () => { if (drawing) { drawing = false; if (drawn) predictDrawing(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", clear);
  $("predict-drawing").addEventListener("click", () => drawn && predictDrawing());
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[name=task]").forEach((r) => r.addEventListener("change", syncNumberField));
  syncNumberField();
  setupUpload();
  setupCanvas();
});
