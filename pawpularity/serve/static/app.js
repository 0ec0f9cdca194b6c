// The page: send the photo to /api/score, /api/explain and /api/advise in turn and show each answer.
"use strict";

const MAX_BYTES = 20 * 1024 * 1024;
const $ = (id) => document.getElementById(id);

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function post(path, file) {
  const body = new FormData();
  body.append("file", file);
  const response = await fetch(path, { method: "POST", body });
  const answer = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) {
    const detail = typeof answer.detail === "string" ? answer.detail : JSON.stringify(answer.detail);
    throw new Error(detail || `error ${response.status}`);
  }
  return answer;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// "8 in 10" for 0.8, "95 in 100" for 0.95: the interval's level in words.
function share(level) {
  const tenths = Math.round(level * 10);
  return Math.abs(level * 10 - tenths) < 1e-9 ? `${tenths} in 10` : `${Math.round(level * 100)} in 100`;
}

function showScore(result) {
  $("score").textContent = result.score.toFixed(1);
  $("bar").style.width = `${Math.max(0, Math.min(100, result.score))}%`;
  $("band").style.left = `${result.score_low}%`;
  $("band").style.width = `${result.score_high - result.score_low}%`;
  const [low, high] = [result.score_low, result.score_high].map(Math.round);
  $("range").textContent =
    `Likely between ${low} and ${high}: the real score of ${share(result.interval)} photos falls in ` +
    `a range like this. It scores higher than ${Math.round(result.percentile)}% of the photos ` +
    "the model learned from.";
  const flags = $("flags");
  flags.replaceChildren();
  for (const seen of result.seen) {
    const item = element("li", seen.words, "yes");
    item.title = `${seen.flag}: the model is ${Math.round(100 * seen.probability)}% sure`;
    flags.append(item);
  }
  if (!result.seen.length) flags.append(element("li", "nothing the model would flag"));
  $("result").hidden = false;
}

function figure(src, caption) {
  const fig = element("figure");
  const img = element("img");
  img.src = src;
  img.alt = caption;
  fig.append(img, element("figcaption", caption));
  return fig;
}

const NAMES = { gradcam: "Grad-CAM", gradcampp: "Grad-CAM++", vanilla: "Gradient", smoothgrad: "SmoothGrad", rise: "RISE" };

function showMaps(result) {
  const maps = $("maps");
  maps.replaceChildren(figure(result.photo, "photo"));
  for (const [name, src] of Object.entries(result.maps)) {
    const caption = NAMES[name] || name;
    maps.append(figure(src, result.empty[name] ? `${caption}: nothing in this photo raises the score` : caption));
  }
  $("why").hidden = false;
}

// The edit's gain as the models that did not choose it measured it (advise/confirm.py).
function confirmed(result) {
  const points = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
  if (!result.confirmed_by) return `${points(result.gain)} points (one model: no other could check this gain).`;
  const spread = result.confirmed_by > 1 ? `, from ${points(result.gain_low)} to ${points(result.gain_high)}` : "";
  return `Checked by models that did not choose this edit: ${points(result.gain)} points${spread}.`;
}

function showAdvice(result) {
  const tips = $("tips");
  tips.replaceChildren();
  for (const tip of result.tips) {
    const item = element("li", tip.tip);
    if (tip.evidence) item.append(element("span", tip.evidence.text, "evidence"));
    tips.append(item);
  }
  if (!result.tips.length) {
    const none = result.dropped_tips.length
      ? "No tip this model can back up for this photo: it cannot tell those flags well enough, or the data do not support them."
      : "Nothing to fix: the model sees no problem.";
    tips.append(element("li", none));
  }
  $("gain").textContent = result.best_edit
    ? `${result.best_edit.name}: ${result.score.toFixed(1)} → ${result.best_score.toFixed(1)}. ${confirmed(result)}`
    : "No edit raised the model's score by enough: keep the original photo.";
  // nothing improved: no comparison and no download (it would only be a re-encoded copy)
  for (const id of ["compare", "download"]) $(id).hidden = !result.best_edit;
  if (result.best_edit) {
    $("compare").src = result.urls.compare;
    $("download").href = result.urls.best;
  }
  $("advice").hidden = false;
}

async function analyse(file) {
  for (const id of ["result", "why", "advice"]) $(id).hidden = true;
  if (!file) return;
  if (file.size > MAX_BYTES) return status("This photo is over 20 MB: please pick a smaller one.", true);
  try {
    status("Scoring…");
    showScore(await post("/api/score", file));
    status("Finding where the model looks…");
    showMaps(await post("/api/explain", file));
    status("Looking for a better crop and light…");
    showAdvice(await post("/api/advise", file));
    status("Done.");
  } catch (error) {
    status(`Sorry: ${error.message}`, true);
  }
}

async function showWarning() {
  const health = await fetch("/health").then((r) => r.json()).catch(() => ({}));
  if (!health.warning) return;
  $("warning").textContent = `This model was ${health.warning}.`;
  $("warning").hidden = false;
}

window.addEventListener("DOMContentLoaded", () => {
  showWarning();
  for (const id of ["file", "camera"]) $(id).addEventListener("change", (e) => analyse(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    analyse(e.dataTransfer.files[0]);
  });
});
