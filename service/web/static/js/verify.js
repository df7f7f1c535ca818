/* The Verify page: upload a clip or image to POST /v1/verify and show the verdict with its evidence. */
"use strict";

(function () {
  const O = window.Originframe;
  const { el, definitionList } = O;

  const VERDICTS = {
    generated_here: { label: "Generated here", tone: "here",
      explain: "Evidence that binds to one generation (this service's signed Content Credentials, or its watermark " +
        "carrying that generation's identifier) ties the file to this service's records." },
    resembles_generated_here: { label: "Resembles a clip generated here", tone: "resembles",
      explain: "It looks like a clip this service generated, but nothing in it binds it to that generation: it may be " +
        "a copy with its marks removed, or the real footage the clip was made from. A resemblance is not proof of where it came from." },
    generated_elsewhere_ai: { label: "AI-generated elsewhere", tone: "elsewhere",
      explain: "Signals say an AI model made this; none of them ties it to this service." },
    tampered: { label: "Tampered", tone: "tampered",
      explain: "It carries provenance that no longer matches its content: it was changed after it was signed or marked." },
    no_evidence: { label: "No evidence", tone: "none",
      explain: "None of the checks found a provenance signal. That is not proof of where it came from or how it was made: " +
        "metadata can be stripped and marks can be destroyed." },
  };
  const EVIDENCE = {
    watermark: "the Originframe watermark", manifest: "the Content Credentials (C2PA manifest)",
    fingerprint: "a fingerprint resemblance with a stored generation",
    input_image: "a fingerprint resemblance with the input image of an image-to-video generation",
    reference_watermark: "the Stability AI / SDXL reference watermark",
  };
  /* The manifest's state is worded by the server from its status codes (provenance/manifest_explanation.py),
     so the page, the JSON report and the CLI say the same; these are only the headings. */
  const MANIFEST_STATES = {
    trusted: "Trusted", untrusted: "Valid, signer not trusted here", credential_problem: "Invalid credential",
    changed: "Changed after signing", absent: "No Content Credentials",
  };
  const SOURCE_TYPES = {
    trainedAlgorithmicMedia: "Made by a trained AI model",
    compositeWithTrainedAlgorithmicMedia: "A composite that includes AI-generated parts",
    algorithmicMedia: "Made by an algorithm (not a trained model)",
    digitalCapture: "Captured by a camera",
    composite: "A composite of several sources",
    minorHumanEdits: "Captured, with minor human edits",
  };

  const form = document.getElementById("verify-form");
  const input = document.getElementById("verify-file");
  const dropzone = document.getElementById("dropzone");
  const progressBlock = document.getElementById("verify-progress");
  const progressBar = document.getElementById("verify-progress-bar");
  const progressLabel = document.getElementById("verify-progress-label");
  const status = document.getElementById("verify-status");
  const problemBox = document.getElementById("verify-problem");
  const result = document.getElementById("verify-result");
  let reportUrl = null;
  let busy = false;

  function formatP(value) {
    if (value === null || value === undefined) return null;
    if (value === 0) return "< 1 × 10⁻³⁰⁰";
    if (value >= 0.001) return value.toPrecision(2);
    const [mantissa, exponent] = value.toExponential(1).split("e");
    const superscript = exponent.replace("+", "").replace(/[-0-9]/g, (c) => "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"["-0123456789".indexOf(c)]);
    return `${mantissa} × 10${superscript}`;
  }
  const yesNo = (value) => (value === true ? "yes" : value === false ? "no" : "unknown");
  const sourceType = (uri) => {
    if (!uri) return null;
    const term = String(uri).split("/").pop();
    return SOURCE_TYPES[term] ? `${SOURCE_TYPES[term]} (${term})` : term;
  };

  /* XMLHttpRequest rather than fetch(): fetch cannot report upload progress, and a large clip
     on a slow link can take a while. The Authorization header is set the same way. */
  function upload(file) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", "/v1/verify");
      const key = O.getKey();
      if (key) request.setRequestHeader("Authorization", "Bearer " + key);
      request.responseType = "text";
      request.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.round((100 * event.loaded) / event.total);
        progressBar.value = percent;
        progressLabel.textContent = `Uploading ${file.name}: ${percent} %`;
      });
      request.upload.addEventListener("load", () => {
        progressBar.removeAttribute("value"); // indeterminate while the server checks
        progressLabel.textContent = "Checking Content Credentials, watermark and fingerprint…";
        status.textContent = "Upload complete. Checking the file…";
      });
      request.addEventListener("load", () => {
        const type = request.getResponseHeader("content-type") || "";
        let body = null;
        try { body = type.includes("json") ? JSON.parse(request.responseText) : null; } catch (error) { body = null; }
        if (request.status >= 200 && request.status < 300 && body) resolve(body);
        else reject(new O.ApiProblem(Object.assign({ status: request.status, title: request.statusText || `HTTP ${request.status}`,
          detail: body ? undefined : request.responseText.slice(0, 300) }, body || {})));
      });
      request.addEventListener("error", () => reject(new O.ApiProblem({ title: "Cannot reach the service", detail: "the upload failed (network error)" })));
      const data = new FormData();
      data.append("file", file, file.name);
      request.send(data);
    });
  }

  async function verify(file) {
    if (busy || !file) return;
    busy = true;
    O.clear(problemBox);
    result.hidden = true;
    O.clear(result);
    progressBlock.hidden = false;
    progressBar.value = 0;
    progressLabel.textContent = `Uploading ${file.name}`;
    status.classList.remove("visually-hidden");
    status.textContent = `Verifying ${file.name} (${O.formatBytes(file.size)})…`;
    dropzone.classList.add("busy");
    try {
      const report = await upload(file);
      render(report, file);
      status.textContent = `Verdict: ${(VERDICTS[report.verdict] || { label: report.verdict }).label}.`;
      status.classList.add("visually-hidden"); // the banner shows it; screen readers still hear it once
      result.focus();
    } catch (error) {
      status.textContent = "Verification failed.";
      O.renderProblem(problemBox, error, `Could not verify ${file.name}.`);
    } finally {
      busy = false;
      progressBlock.hidden = true;
      dropzone.classList.remove("busy");
      input.value = "";
    }
  }

  function card(title, id, ...body) {
    return el("section", { class: "card", "aria-labelledby": id }, el("h3", { id, text: title }), body);
  }
  function wideCard(title, id, ...body) {
    const section = card(title, id, ...body);
    section.classList.add("wide");
    return section;
  }
  const notRun = () => el("p", { class: "muted", text: "This check could not run on this file." });

  function causesList(explanation) {
    const causes = (explanation && explanation.causes) || [];
    if (!causes.length) return null;
    return el("ul", { class: "causes" }, causes.map((cause) => el("li", { "data-code": cause.code, "data-cause": cause.cause,
      class: cause.informational ? "informational" : "failure" },
      el("code", { text: cause.code }), " — ", cause.sentence, cause.informational ? el("span", { class: "muted", text: " (information)" }) : null)));
  }

  function contentChanged(manifest, explanation) {
    const causes = (explanation && explanation.causes) || [];
    if (causes.some((cause) => cause.cause === "content_changed" && !cause.informational)) return "yes — the content hash no longer matches";
    if (manifest.content_hash_intact === true) return "no — the content hash matches";
    return "not established by the status codes";
  }

  function manifestCard(manifest, title, id, explanation) {
    if (!manifest) return card(title, id, notRun());
    if (!manifest.present) {
      return card(title, id, el("p", { text: "No Content Credentials in the file. They are often stripped by re-encoding or uploads to social networks." }),
        manifest.error ? el("p", { class: "muted", text: manifest.error }) : null);
    }
    const state = explanation ? explanation.state : null;
    const signer = manifest.signer || {};
    const binding = manifest.soft_binding || (manifest.soft_bindings && manifest.soft_bindings[0]) || null;
    const generation = manifest.generation || null;
    const trust = el("p", { class: "trust trust-" + String(state || "unknown"), "data-state": state || "unknown" },
      el("strong", { text: MANIFEST_STATES[state] || manifest.validation_state || "Not validated" }), " — ",
      explanation ? explanation.headline : "No explanation of this manifest's state was reported.");
    const facts = definitionList([
      ["Signer", [signer.common_name, signer.organization].filter(Boolean).join(", ") || null],
      ["Certificate issuer", signer.issuer],
      ["Signed at", O.formatTime(manifest.signed_at || manifest.signing_time)],
      ["Made with", manifest.claim_generator],
      ["Source", sourceType(manifest.digital_source_type)],
      ["C2PA validation state", manifest.validation_state],
      ["Content changed after signing", contentChanged(manifest, explanation)],
      ["Status codes", causesList(explanation)],
      ["Soft binding", binding ? `${binding.alg || binding.algorithm}: ${binding.value || (binding.values || []).join(", ")}` : null],
      ["Generation (claimed)", generation ? `${generation.generation_id} · ${generation.model || generation.model_id || ""}` : null],
    ]);
    const actions = (manifest.actions || []).length ? el("div", {}, el("h4", { text: "Actions" }),
      el("ul", { class: "plain" }, manifest.actions.map((a) => el("li", {}, el("code", { text: a.action }),
        a.software_agent ? ` by ${typeof a.software_agent === "string" ? a.software_agent : JSON.stringify(a.software_agent)}` : "",
        a.digital_source_type ? ` — ${sourceType(a.digital_source_type)}` : "")))) : null;
    const ingredients = (manifest.ingredients || []).length ? el("div", {}, el("h4", { text: "Ingredients" }),
      el("ul", { class: "plain" }, manifest.ingredients.map((i) => el("li", {}, i.title || "(untitled)",
        i.relationship ? el("span", { class: "muted", text: ` (${i.relationship})` }) : "")))) : null;
    return card(title, id, trust, facts, actions, ingredients,
      manifest.error ? el("p", { class: "muted", text: `Reader error: ${manifest.error}` }) : null);
  }

  function watermarkCard(watermark, media) {
    const id = "evidence-watermark";
    if (!watermark) return card("Watermark", id, notRun());
    const detected = watermark.detected;
    const scores = Array.isArray(watermark.frame_scores) ? watermark.frame_scores.filter((s) => typeof s === "number") : [];
    const indices = Array.isArray(watermark.frame_indices) && watermark.frame_indices.length === scores.length ? watermark.frame_indices : null;
    const segments = Array.isArray(watermark.segments) ? watermark.segments : [];
    const seconds = (t) => (typeof t === "number" ? `${t.toFixed(1)} s` : "?");
    // which stretches of the file carry which identifier: a clip inside a longer video, or a compilation
    const ranges = segments.length ? el("ul", { class: "plain watermark-segments" }, segments.map((s) =>
      el("li", { "data-start": String(s.start_s), "data-end": String(s.end_s) }, `${seconds(s.start_s)}–${seconds(s.end_s)}: identifier `,
        el("code", { text: s.identifier }), ` (key ${s.key_id}, p-value ${formatP(s.p_value)})`))) : null;
    const frameRate = watermark.frame_threshold_false_positive_rate;
    const legend = typeof frameRate === "number"
      ? `Dashed line: per-frame threshold ${watermark.frame_threshold} — a frame of an unmarked clip reaches it with probability below ` +
        `${formatP(frameRate)} (${watermark.frame_threshold_basis}). Filled dots are frames at or above it.` +
        (segments.length ? " Shaded: the time ranges that carry the mark." : "")
      : "Dashed line: per-frame threshold.";
    const decision = el("p", { class: "clip-decision", "data-detected": String(Boolean(detected)) },
      el("strong", { text: "Clip-level decision: " + (detected ? "detected" : "not detected") }),
      ` — p-value ${formatP(watermark.p_value)}, needs ≤ ${formatP(watermark.threshold_p_value)}. ` +
      "The decision pools every frame before testing; no single frame decides it.");
    return wideCard("Watermark", id, el("div", { class: "watermark-body" }, el("div", {},
      el("p", { class: detected ? "finding positive" : "finding" }, detected
        ? "Detected: the invisible Originframe watermark is present."
        : "Not detected: no Originframe watermark was found."),
      definitionList([
        ["p-value", formatP(watermark.p_value)],
        ["Detection threshold (false-positive rate)", formatP(watermark.threshold_p_value)],
        ["Payload identifier", watermark.identifier ? el("code", { text: watermark.identifier }) : null],
        ["Key id", watermark.key_id],
        ["Marked time ranges", ranges],
        ["Frames analysed", watermark.frames_analysed],
        ["Algorithm", watermark.algorithm],
      ]),
      el("p", { class: "hint", text: "The p-value is the chance that a clip without this watermark would score at least this high." })),
      el("div", { class: "chart-column" }, decision, scores.length ? OriginframeChart.frameScoreChart({
        id: "watermark-chart", scores, threshold: watermark.frame_threshold, fps: media && media.fps,
        frames: indices, times: indices && media && media.fps > 0 ? indices.map((f) => f / media.fps) : null,
        bands: segments.map((s) => ({ start_s: s.start_s, end_s: s.end_s, label: `identifier ${s.identifier} (key ${s.key_id})` })),
        thresholdLabel: typeof frameRate === "number" ? `per-frame threshold (FPR < ${formatP(frameRate)})` : null,
        title: "Per-frame watermark score", caption: "Watermark score of each analysed frame over time. " + legend,
      }) : el("p", { class: "muted", text: "No per-frame scores were reported." }))));
  }

  function referenceCard(reference, media) {
    const id = "evidence-reference";
    if (!reference) return card("Reference watermark (Stability AI / SDXL)", id, notRun());
    const scores = Array.isArray(reference.frame_scores) ? reference.frame_scores.filter((s) => typeof s === "number") : [];
    return card("Reference watermark (Stability AI / SDXL)", id,
      el("p", { class: reference.detected ? "finding positive" : "finding" }, reference.detected
        ? "Detected: the fixed mark that Stability AI's reference scripts stamp on SVD/SDXL output."
        : "Not detected."),
      definitionList([["p-value", formatP(reference.p_value)],
        ["Bit accuracy", typeof reference.bit_accuracy === "number" ? `${(100 * reference.bit_accuracy).toFixed(1)} %` : null]]),
      scores.length > 1 ? OriginframeChart.frameScoreChart({ id: "reference-chart", scores, fps: media && media.fps,
        title: "Per-frame reference watermark score", caption: "Reference watermark score of each frame." }) : null);
  }

  function fingerprintCard(fingerprint) {
    const id = "evidence-fingerprint";
    if (!fingerprint) return card("Fingerprint", id, notRun());
    const range = (span) => (Array.isArray(span) ? `${span[0].toFixed(1)}–${span[1].toFixed(1)} s` : null);
    const finding = !fingerprint.matched ? "No resemblance with any clip this service generated."
      : fingerprint.matched_input_image
        ? "Resembles the input image of an image-to-video generation, not the motion the model added: it may be the footage that image came from."
        : "Resembles a clip this service generated, frame for frame in order. A resemblance is not proof: it may be a copy with its marks removed, or the footage the clip was made from.";
    return card("Fingerprint", id,
      el("p", { class: fingerprint.matched ? "finding positive" : "finding" }, finding),
      definitionList([
        ["Generation", fingerprint.generation_id ? el("code", { text: fingerprint.generation_id }) : null],
        ["Distance", typeof fingerprint.distance === "number"
          ? `${fingerprint.distance.toFixed(2)} (a resemblance needs ≤ ${fingerprint.threshold})` : null],
        ["Matching frames", fingerprint.matched ? fingerprint.matched_frames : null],
        ["Frames of this file", range(fingerprint.query_range_s)],
        ["Frames of the generation", range(fingerprint.generation_range_s)],
      ]));
  }

  function mediaCard(media) {
    const id = "evidence-media";
    if (!media) return card("File", id, notRun());
    return card("File", id, definitionList([
      ["Kind", media.kind],
      ["Size", media.width && media.height ? `${media.width} × ${media.height}` : null],
      ["Frames", media.frames], ["Frame rate", media.fps ? `${media.fps} fps` : null],
      ["Format", [media.container, media.codec].filter(Boolean).join(" / ")],
      ["Bytes", O.formatBytes(media.bytes)],
      ["SHA-256", media.sha256 ? el("code", { class: "hash", text: media.sha256 }) : null],
    ]));
  }

  function generationCard(generation) {
    const id = "evidence-generation";
    if (!generation) return card("Linked generation", id, el("p", { text: "No generation of this service is linked to this file." }));
    if (generation.visible === false) {
      return card("Linked generation", id, el("p", {}, "It matches generation ", el("code", { text: generation.id }),
        ", which this API key may not see. An auditor or the key that made it can look it up."));
    }
    return card("Linked generation", id, definitionList([
      ["Generation", el("a", { href: "/generate?id=" + encodeURIComponent(generation.id) }, el("code", { text: generation.id }))],
      ["Status", generation.status], ["Model", generation.model],
      ["Prompt", generation.prompt], ["Created", O.formatTime(generation.created_at)],
      ["Watermark identifier", generation.watermark ? generation.watermark.identifier : null],
    ]));
  }

  function render(report, file) {
    const verdict = VERDICTS[report.verdict] || { label: String(report.verdict), tone: "none", explain: "" };
    if (reportUrl) URL.revokeObjectURL(reportUrl);
    reportUrl = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: "application/json" }));
    const strongest = report.strongest_evidence;
    const banner = el("div", { class: "verdict verdict-" + verdict.tone, "data-verdict": report.verdict },
      el("p", { class: "verdict-kicker", text: "Verdict for " + file.name }),
      el("h2", { id: "verdict-heading", class: "verdict-label", text: verdict.label }),
      el("p", { class: "verdict-summary", text: report.summary || verdict.explain }),
      report.summary && verdict.explain ? el("p", { class: "verdict-explain", text: verdict.explain }) : null,
      strongest ? el("p", { class: "verdict-evidence" }, "Strongest evidence: ", el("strong", { text: EVIDENCE[strongest] || strongest })) : null);
    const actions = el("p", { class: "actions" },
      el("a", { class: "button-like", href: reportUrl, download: `verification-${report.verification_id || "report"}.json`,
        id: "report-download" }, "Download the JSON report"));
    const stored = report.stored_manifest ? manifestCard(report.stored_manifest, "Stored Content Credentials (found through the watermark)",
      "evidence-stored-manifest", report.stored_manifest_explanation) : null;
    const grid = el("div", { class: "evidence" },
      watermarkCard(report.watermark, report.media),
      manifestCard(report.manifest, "Content Credentials (C2PA)", "evidence-manifest", report.manifest_explanation),
      fingerprintCard(report.fingerprint),
      generationCard(report.generation),
      stored,
      referenceCard(report.reference_watermark, report.media),
      mediaCard(report.media));
    result.replaceChildren(banner, actions, grid);
    result.hidden = false;
  }

  input.addEventListener("change", () => verify(input.files[0]));
  form.addEventListener("submit", (event) => { event.preventDefault(); verify(input.files[0]); });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => { event.preventDefault(); dropzone.classList.add("dragging"); });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("dragging"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) verify(file);
  });
  // a file dropped outside the zone would otherwise replace the page with the file
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
})();
