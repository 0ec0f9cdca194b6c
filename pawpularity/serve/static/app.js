// The page. With a trained model: one photo goes to /api/score, /api/check, /api/explain and
// /api/advise in turn; several photos of one animal to /api/rank. Without one (/health says
// "imagenet"): every photo to /api/check. Limits come from /health (defined once, server-side).
"use strict";

const $ = (id) => document.getElementById(id);
const SECTIONS = ["result", "checks", "why", "advice", "ranking"];
let health = { model: "", max_photos: 12, max_upload: 20 * 1024 * 1024 };

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function post(path, files) {
  const body = new FormData();
  for (const file of files) body.append("file", file);
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

function rangeWords(result, level) {
  const [low, high] = [result.score_low, result.score_high].map(Math.round);
  const real = level ? `: the real score of ${share(level)} photos falls in a range like this` : "";
  return `Likely between ${low} and ${high}${real}. It scores higher than ` +
    `${Math.round(result.percentile)}% of the photos the model learned from.`;
}

function showScore(result) {
  $("score").textContent = result.score.toFixed(1);
  $("bar").style.width = `${Math.max(0, Math.min(100, result.score))}%`;
  $("band").style.left = `${result.score_low}%`;
  $("band").style.width = `${result.score_high - result.score_low}%`;
  $("range").textContent = rangeWords(result, result.interval);
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

// Before and after as two photos with captions in the page's text: side by side, stacked on a phone.
function comparison(before, beforeCaption, after, afterCaption) {
  const box = element("div", undefined, "compare");
  box.append(figure(before, beforeCaption), figure(after, afterCaption));
  return box;
}

// Each check's verdict in plain words: [when it passes, when it does not].
const CHECKS = {
  ok_pet: ["a cat or dog is in the photo", "no cat or dog found"],
  ok_size: ["the pet fills the frame", "the pet is small in the frame"],
  ok_frame: ["the whole pet is in the frame", "the frame cuts through the pet"],
  ok_sharp: ["sharp", "blurry"],
  ok_exposure: ["well lit", "too dark or too bright"],
};

function checkView(check) {
  const box = element("div", undefined, "check");
  const chips = element("ul", undefined, "flags");
  for (const [key, [yes, no]] of Object.entries(CHECKS)) {
    if (!(key in check)) continue;
    chips.append(element("li", check[key] ? yes : no, check[key] ? "ok" : "bad"));
  }
  box.append(chips, ...tipList(check.tips));
  return box;
}

// Plain tips as a list: none when there is no tip.
function tipList(tips) {
  if (!tips.length) return [];
  const list = element("ul", undefined, "tips");
  for (const tip of tips) list.append(element("li", tip));
  return [list];
}

function showCheck(file, check) {
  const card = element("article", undefined, "card");
  card.append(figure(URL.createObjectURL(file), file.name), checkView(check));
  $("check-list").append(card);
  $("checks").hidden = false;
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

const points = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

// The edit's gain as the models that did not choose it measured it (advise/confirm.py).
function confirmed(result) {
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
    $("compare").replaceChildren(...comparison(
      result.urls.before, `Before: ${result.score.toFixed(1)}`,
      result.urls.after, `After (${result.best_edit.name}): ${result.best_score.toFixed(1)}`,
    ).children);
    $("download").href = result.urls.best;
  }
  $("advice").hidden = false;
}

function rankedView(photo) {
  const item = element("li", undefined, photo.cover ? "card cover" : "card");
  const head = element("h3", `${photo.rank ? `#${photo.rank} ` : ""}${photo.photo}`);
  if (photo.cover) head.append(element("span", "Cover photo", "badge"));
  item.append(head);
  if (photo.error) {
    item.append(element("p", `Could not use this photo: ${photo.error}`, "error"));
    return item;
  }
  const score = element("p", undefined, "ranked-score");
  score.append(element("strong", photo.score.toFixed(1)), " / 100. ", rangeWords(photo));
  item.append(score);
  if (photo.coin_toss) item.append(element("p", "As good as the next photo: the model cannot tell them apart.", "hint"));
  if (photo.urls.improved) {
    const after = `After (${photo.best_edit}): ${photo.best_score.toFixed(1)}, ${points(photo.best_score - photo.score)}`;
    item.append(comparison(photo.urls.photo, `Before: ${photo.score.toFixed(1)}`, photo.urls.improved, after));
  } else {
    item.append(figure(photo.urls.photo, photo.photo));
  }
  item.append(...tipList(photo.tips));
  return item;
}

function showRanking(answer) {
  $("ranked").replaceChildren(...answer.photos.map(rankedView));
  $("zip").hidden = !answer.urls.zip;
  if (answer.urls.zip) $("zip").href = answer.urls.zip;
  $("ranking").hidden = false;
}

async function analyse(file) {
  status("Scoring…");
  showScore(await post("/api/score", [file]));
  status("Checking the photo…");
  showCheck(file, await post("/api/check", [file]));
  status("Finding where the model looks…");
  showMaps(await post("/api/explain", [file]));
  status("Looking for a better crop and light…");
  showAdvice(await post("/api/advise", [file]));
}

async function checkEach(files) {
  for (const [i, file] of files.entries()) {
    status(`Checking photo ${i + 1} of ${files.length}…`);
    showCheck(file, await post("/api/check", [file]));
  }
}

async function start(chosen) {
  const files = Array.from(chosen || []);
  for (const id of SECTIONS) $(id).hidden = true;
  $("check-list").replaceChildren();
  if (!files.length) return;
  const mb = Math.round(health.max_upload / 2 ** 20);
  const big = files.find((f) => f.size > health.max_upload);
  if (big) return status(`${big.name} is over ${mb} MB: please pick a smaller photo.`, true);
  if (files.length > health.max_photos) {
    return status(`That is ${files.length} photos: choose at most ${health.max_photos} of one animal.`, true);
  }
  try {
    if (health.model === "imagenet") await checkEach(files);
    else if (files.length === 1) await analyse(files[0]);
    else {
      status(`Ranking ${files.length} photos and improving the best…`);
      showRanking(await post("/api/rank", files));
    }
    status("Done.");
  } catch (error) {
    status(`Sorry: ${error.message}`, true);
  }
}

async function readHealth() {
  health = await fetch("/health").then((r) => r.json()).catch(() => health);
  $("max-photos").textContent = health.max_photos;
  $("max-mb").textContent = Math.round(health.max_upload / 2 ** 20);
  $("nomodel").hidden = health.model !== "imagenet";
  document.body.dataset.model = health.model || "unknown";  // the page knows what to show
  if (!health.warning) return;
  $("warning").textContent = `This model was ${health.warning}.`;
  $("warning").hidden = false;
}

window.addEventListener("DOMContentLoaded", () => {
  const ready = readHealth();
  for (const id of ["file", "camera"]) {
    $(id).addEventListener("change", async (e) => { await ready; start(e.target.files); });
  }
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    await ready;
    start(e.dataTransfer.files);
  });
});
