// The annotator's page: fetch a pair, mark A and B on the photo, send the answer, repeat.
// No build step: plain browser JavaScript.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const keys = {
    "1": "A", ArrowLeft: "A", "2": "B", ArrowRight: "B",
    "3": "=", ArrowDown: "=", "4": "?", ArrowUp: "?",
  };
  const words = { A: "A is closer", B: "B is closer", "=": "about the same" };
  let task = null;
  let busy = false;

  function say(text, kind) {
    $("status").textContent = text;
    $("status").className = "status " + (kind || "");
  }

  function showProgress(p) {
    $("answered").textContent = p.answered;
    $("remaining").textContent = p.remaining;
  }

  function imageUrl(name) {
    return "/images/" + name.split("/").map(encodeURIComponent).join("/");
  }

  function place(marker, point, image) {
    // pixel centres at integer coordinates: the centre of pixel x is at (x + 0.5) / W
    marker.style.left = (100 * (point.x + 0.5) / image.width) + "%";
    marker.style.top = (100 * (point.y + 0.5) / image.height) + "%";
  }

  function fit() {
    // As large as the column and half the window height allow, at the photo's aspect ratio
    // (the markers are placed in percent of this box).
    if (!task) return;
    const ratio = task.image.width / task.image.height;
    const width = Math.min($("stage").clientWidth, 0.5 * window.innerHeight * ratio);
    $("frame").style.width = Math.floor(width) + "px";
  }

  function show(next) {
    task = next;
    document.body.dataset.taskId = task ? String(task.task_id) : "";
    $("stage").hidden = !task;
    document.querySelectorAll(".answers button, #undo").forEach((b) => { b.disabled = false; });
    if (!task) {
      document.querySelectorAll(".answers button").forEach((b) => { b.disabled = true; });
      say("All done, thank you! There is nothing left for you to judge.", "ok");
      return;
    }
    $("photo").src = imageUrl(task.image.name);
    fit();
    place($("marker-a"), task.a, task.image);
    place($("marker-b"), task.b, task.image);
    if (task.tutorial) say("Practice question: you will be told the right answer.", "practice");
  }

  async function call(method, url, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (method === "POST") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(() => ({ error: response.statusText }));
    return { ok: response.ok, status: response.status, data };
  }

  async function loadNext() {
    const r = await call("GET", "/api/next");
    if (!r.ok) { say(r.data.error || "could not load the next pair", "error"); return; }
    showProgress(r.data.progress);
    show(r.data.task);
  }

  async function answer(choice) {
    if (!task || busy) return;
    busy = true;
    const r = await call("POST", "/api/judgements", { task_id: task.task_id, answer: choice });
    busy = false;
    if (r.ok) {
      showProgress(r.data.progress);
      const expected = r.data.expected;
      if (expected) {
        if (expected === choice) say("Right: " + words[expected] + ".", "ok");
        else say("The right answer was: " + words[expected] + ".", "practice");
      } else {
        say("", "");
      }
    } else if (r.status !== 409) {  // 409: answered already (e.g. twice quickly): move on
      say(r.data.error || "the answer was not saved", "error");
      return;
    }
    await loadNext();
  }

  async function undo() {
    if (busy) return;
    busy = true;
    const r = await call("POST", "/api/undo");
    busy = false;
    if (!r.ok) { say(r.data.error || "nothing to undo", "error"); return; }
    showProgress(r.data.progress);
    show(r.data.task);
    say("Your last answer was withdrawn: answer this pair again.", "practice");
  }

  document.querySelectorAll(".answers button").forEach((b) => {
    b.addEventListener("click", () => answer(b.dataset.answer));
  });
  $("undo").addEventListener("click", undo);
  window.addEventListener("resize", fit);
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (keys[e.key]) { e.preventDefault(); answer(keys[e.key]); }
    else if (e.key === "u" || e.key === "U" || e.key === "Backspace") { e.preventDefault(); undo(); }
  });
  loadNext();
})();
