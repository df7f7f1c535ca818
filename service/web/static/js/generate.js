/* The Generate page: submit a prompt and/or image, follow progress over SSE, play the clip. */
"use strict";

(function () {
  const O = window.Originframe;
  const { el, definitionList } = O;
  const FINAL = new Set(["succeeded", "failed", "blocked", "cancelled"]);
  const STAGES = {
    queued: "Queued, waiting for a worker", loading_model: "Loading the model", generating: "Generating frames",
    screen_output: "Screening the generated frames", watermark: "Watermarking every frame", encoding: "Encoding the MP4",
    sign: "Signing Content Credentials", fingerprint: "Registering the fingerprint", storing: "Storing the clip",
    review: "Held for human review", done: "Done",
  };

  const form = document.getElementById("generate-form");
  const submit = document.getElementById("generate-submit");
  const cancel = document.getElementById("generate-cancel");
  const imageInput = document.getElementById("image");
  const preview = document.getElementById("image-preview");
  const previewImg = document.getElementById("image-preview-img");
  const section = document.getElementById("generation");
  const bar = document.getElementById("generation-progress");
  const percentText = document.getElementById("generation-percent");
  const progressLabel = document.getElementById("generation-progress-label");
  const status = document.getElementById("generation-status");
  const output = document.getElementById("generation-output");
  const problemBox = document.getElementById("generate-problem");

  let current = null; // {id, controller}
  const blobUrls = [];

  function releaseBlobs() { while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop()); }

  async function loadModels() {
    const select = document.getElementById("model");
    const help = document.getElementById("model-help");
    try {
      const health = await (await fetch("/health", { cache: "no-store" })).json();
      const unavailable = [];
      for (const [name, model] of Object.entries(health.models || {})) {
        if (model.available) select.append(el("option", { value: name, text: `${name} (${(model.modes || []).join(", ")})` }));
        else unavailable.push(name);
      }
      help.textContent = unavailable.length ? `Not available on this deployment: ${unavailable.join(", ")}.` : "";
    } catch (error) {
      help.textContent = "Could not list the models; the server default will be used.";
    }
  }

  function showPreview() {
    const file = imageInput.files[0];
    if (previewImg.src) URL.revokeObjectURL(previewImg.src);
    if (!file) { preview.hidden = true; previewImg.removeAttribute("src"); return; }
    previewImg.src = URL.createObjectURL(file);
    preview.hidden = false;
  }

  /* Only filled fields are sent: an empty field means "the model's default", not zero. */
  function formData() {
    const data = new FormData();
    for (const field of form.querySelectorAll("input:not([type=file]), textarea, select")) {
      const value = field.value.trim();
      if (field.name && value !== "") data.append(field.name, value);
    }
    if (imageInput.files[0]) data.append("image", imageInput.files[0], imageInput.files[0].name);
    return data;
  }

  function setProgress(view) {
    const progress = view.progress || {};
    const percent = view.status === "succeeded" ? 100 : Math.max(0, Math.min(100, Number(progress.percent) || 0));
    bar.value = percent;
    percentText.textContent = `${Math.round(percent)} %`;
    const stage = progress.stage || view.status;
    let text = STAGES[stage] || stage;
    if (stage === "generating" && progress.total) text += `: step ${progress.step} of ${progress.total}`;
    progressLabel.textContent = `Progress: ${Math.round(percent)} %`;
    if (!FINAL.has(view.status)) status.textContent = `${text} (${Math.round(percent)} %)`;
  }

  function start(view) {
    releaseBlobs();
    O.clear(output);
    O.clear(problemBox);
    section.hidden = false;
    document.getElementById("generation-id").textContent = view.id;
    history.replaceState(null, "", "/generate?id=" + encodeURIComponent(view.id));
    setProgress(view);
    section.scrollIntoView({ block: "nearest" });
    if (view.status === "review") showReview(view);
    if (FINAL.has(view.status)) return finish(view);
    follow(view.id);
  }

  /* Follow the events stream; if it drops before the end, look at the generation and resume. */
  async function follow(id) {
    const controller = new AbortController();
    current = { id, controller };
    submit.disabled = true;
    cancel.hidden = false;
    let last = null;
    for (let attempt = 0; attempt < 20 && current && current.id === id; attempt += 1) {
      try {
        await OriginframeEvents.readEvents(`/v1/generations/${encodeURIComponent(id)}/events`, (message) => {
          if (!["progress", "end", "review"].includes(message.event)) return;
          last = JSON.parse(message.data);
          setProgress(last);
          if (last.status === "review") showReview(last);
        }, controller.signal);
        if (last && FINAL.has(last.status)) return finish(last);
        if (last && last.status === "review") {
          // the stream ends while a person decides (that may take days): look again now and then
          await new Promise((resolve) => setTimeout(resolve, 10000));
          attempt -= 1;
          continue;
        }
      } catch (error) {
        if (error && error.name === "AbortError") return;
        if (error instanceof O.ApiProblem && error.problem.status >= 400 && error.problem.status < 500) {
          return fail(error);
        }
      }
      // the stream closed early (proxy timeout, restart): check where the job is, then reconnect
      try {
        last = await O.apiJSON(`/v1/generations/${encodeURIComponent(id)}`);
        setProgress(last);
        if (FINAL.has(last.status)) return finish(last);
      } catch (error) {
        if (error instanceof O.ApiProblem && error.problem.status >= 400 && error.problem.status < 500) return fail(error);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * (attempt + 1), 5000)));
    }
    fail(new O.ApiProblem({ title: "Lost the progress stream", detail: "the service stopped answering; reload the page to look again" }));
  }

  function done() {
    current = null;
    submit.disabled = false;
    cancel.hidden = true;
  }

  function fail(error) {
    done();
    status.textContent = "Something went wrong.";
    O.renderProblem(problemBox, error);
  }

  function showReview(view) {
    const review = (view.stages && (view.stages.screen_output && view.stages.screen_output.decision === "review"
      ? view.stages.screen_output : view.stages.screen_inputs)) || {};
    const notice = el("div", { class: "notice", id: "review-notice" },
      el("p", { text: "The content policy held this request for a person to review. It continues once a reviewer approves it." }),
      review.categories && review.categories.length ? O.categoryList(review.categories) : null);
    const existing = document.getElementById("review-notice");
    if (existing) existing.replaceWith(notice); else output.prepend(notice);
  }

  async function finish(view) {
    done();
    setProgress(view);
    const existing = document.getElementById("review-notice");
    if (existing) existing.remove();
    if (view.status === "succeeded") {
      status.textContent = "Done: 100 %. The clip is ready.";
      await showVideo(view);
    } else if (view.status === "blocked") {
      status.textContent = "Blocked by the content policy.";
      const screen = (view.stages && (view.stages.screen_output && view.stages.screen_output.decision === "block"
        ? view.stages.screen_output : view.stages.screen_inputs)) || {};
      O.renderProblem(problemBox, { title: "The content policy refused this clip", status: null,
        detail: view.error ? view.error.reason : "refused by the content policy", categories: screen.categories || [],
        decision_id: screen.decision_id, generation_id: view.id });
    } else {
      status.textContent = view.status === "cancelled" ? "Cancelled." : "The generation failed.";
      O.renderProblem(problemBox, { title: view.status === "cancelled" ? "Cancelled" : "The generation failed",
        detail: view.error ? `${view.error.reason} (${view.error.code})` : view.status, generation_id: view.id });
    }
  }

  /* A <video src> cannot carry the API key, so the MP4 is fetched with it and played from a blob: URL. */
  async function showVideo(view) {
    let blob;
    try {
      blob = await (await O.api(view.links.video)).blob();
    } catch (error) {
      O.renderProblem(problemBox, error, "The clip was made but could not be downloaded.");
      return;
    }
    const url = URL.createObjectURL(blob);
    blobUrls.push(url);
    const parameters = view.parameters || {};
    const video = el("video", { id: "generation-video", src: url, controls: true, muted: true, loop: true, autoplay: true,
      playsinline: true, width: parameters.width || null, height: parameters.height || null,
      "aria-label": "The generated clip" + (view.prompt ? `: ${view.prompt}` : "") });
    video.muted = true; // the attribute alone does not mute before the first play in every browser
    const download = el("a", { class: "button-like", href: url, download: `${view.id}.mp4`, id: "generation-download" },
      `Download the MP4 (${O.formatBytes(blob.size)})`);
    output.append(el("div", { class: "video-block" }, video, el("p", { class: "actions" }, download,
      el("a", { href: "/", class: "secondary-link" }, "Verify it"))), credentials(view));
    video.play().catch(() => { /* autoplay may be refused; the controls still work */ });
  }

  /* What the clip carries: the stages of the job record say what ran and what it produced. */
  function credentials(view) {
    const stages = view.stages || {};
    const rows = [];
    const describe = (stage) => {
      if (!stage) return "not recorded";
      if (!stage.active) return `not applied — ${stage.detail || "inactive on this deployment"}`;
      const facts = Object.entries(stage).filter(([k, v]) => k !== "active" && v !== null && typeof v !== "object")
        .map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`);
      return facts.length ? "applied — " + facts.join(" · ") : "applied";
    };
    rows.push(["Content Credentials (C2PA)", describe(stages.sign)]);
    rows.push(["Watermark", describe(stages.watermark)]);
    if (view.watermark && view.watermark.identifier) {
      rows.push(["Watermark identifier", el("code", { text: view.watermark.identifier })]);
    }
    rows.push(["Fingerprint", describe(stages.fingerprint)]);
    const inputs = stages.screen_inputs, out = stages.screen_output;
    if (inputs) rows.push(["Input screening", `${inputs.decision}${inputs.categories && inputs.categories.length ? " (" + inputs.categories.join(", ") + ")" : ""}`]);
    if (out) rows.push(["Output screening", out.active === false ? `not run — ${out.detail}` : `${out.decision}`]);
    const o = view.output || {};
    rows.push(["Clip", `${o.frames} frames · ${o.width} × ${o.height} · ${o.fps} fps · ${O.formatBytes(o.bytes)}`]);
    rows.push(["Model", view.model]);
    rows.push(["SHA-256", o.sha256 ? el("code", { class: "hash", text: o.sha256 }) : null]);
    return el("section", { class: "card", "aria-labelledby": "credentials-heading" },
      el("h3", { id: "credentials-heading", text: "Content Credentials summary" }), definitionList(rows));
  }

  async function submitForm(event) {
    event.preventDefault();
    if (current) return;
    O.clear(problemBox);
    submit.disabled = true;
    status.textContent = "";
    try {
      const response = await O.api("/v1/generations", { method: "POST", body: formData() });
      start(await response.json());
    } catch (error) {
      submit.disabled = false;
      section.hidden = true;
      O.renderProblem(problemBox, error);
      problemBox.querySelector(".problem").setAttribute("tabindex", "-1");
      problemBox.querySelector(".problem").focus();
    }
  }

  async function cancelCurrent() {
    if (!current) return;
    try {
      await O.api(`/v1/generations/${encodeURIComponent(current.id)}/cancel`, { method: "POST" });
      status.textContent = "Cancelling…";
    } catch (error) {
      O.renderProblem(problemBox, error, "Could not cancel.");
    }
  }

  /* /generate?id=... shows an existing generation (links from Verify and the review queue). */
  async function openFromUrl() {
    const id = new URLSearchParams(location.search).get("id");
    if (!id || !O.getKey() || current) return;
    try {
      start(await O.apiJSON(`/v1/generations/${encodeURIComponent(id)}`));
    } catch (error) {
      O.renderProblem(problemBox, error, `Could not open generation ${id}.`);
    }
  }

  form.addEventListener("submit", submitForm);
  cancel.addEventListener("click", cancelCurrent);
  imageInput.addEventListener("change", showPreview);
  document.getElementById("image-clear").addEventListener("click", () => { imageInput.value = ""; showPreview(); imageInput.focus(); });
  O.onKey((me) => { if (me) openFromUrl(); });
  loadModels();
})();
