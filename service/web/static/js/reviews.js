/* The Review queue: pending `review` decisions with their input and signals; approve or reject. */
"use strict";

(function () {
  const O = window.Originframe;
  const { el, definitionList } = O;

  const list = document.getElementById("reviews-list");
  const status = document.getElementById("reviews-status");
  const problemBox = document.getElementById("reviews-problem");
  const blobUrls = [];
  let loading = false;

  async function load() {
    if (loading) return;
    O.clear(problemBox);
    if (!O.getKey()) {
      list.replaceChildren();
      status.textContent = "Enter an API key with the audit or admin scope to see the queue.";
      return;
    }
    loading = true;
    status.textContent = "Loading the queue…";
    try {
      const body = await O.apiJSON("/v1/reviews");
      while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
      list.replaceChildren(...body.items.map(item));
      status.textContent = body.items.length
        ? `${body.items.length} generation${body.items.length === 1 ? "" : "s"} waiting for review.`
        : "Nothing is waiting for review.";
      for (const article of list.querySelectorAll("[data-needs-media]")) loadMedia(article);
    } catch (error) {
      list.replaceChildren();
      status.textContent = "Could not load the queue.";
      O.renderProblem(problemBox, error);
    } finally {
      loading = false;
    }
  }

  function signalsTable(screening) {
    if (!screening) return null;
    const categories = (screening.categories || []).map((c) => el("tr", { class: c.triggered ? "triggered" : "" },
      el("th", { scope: "row", text: O.categoryLabel(c.category) }),
      el("td", { text: typeof c.score === "number" ? c.score.toFixed(3) : "" }),
      el("td", { text: c.triggered ? "yes" : "no" }), el("td", { text: c.action || "" })));
    const signals = (screening.signals || []).map((s) => el("li", { class: s.active ? "" : "muted" },
      el("code", { text: s.name }), s.stage ? ` (${s.stage})` : "", s.active ? " — ran" : ` — did not run: ${s.reason_if_inactive || "inactive"}`));
    return el("div", { class: "signals" },
      categories.length ? el("div", { class: "table-scroll", role: "region", tabindex: "0", "aria-label": "Category scores" },
        el("table", {}, el("caption", { text: "Category scores" }),
          el("thead", {}, el("tr", {}, ["Category", "Score", "Triggered", "Action"].map((h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, categories))) : null,
      signals.length ? el("div", {}, el("h4", { text: "Signals" }), el("ul", { class: "plain" }, signals)) : null);
  }

  function item(review) {
    const decision = review.decision || {};
    const generation = review.generation || {};
    const headingId = "review-" + review.id;
    const reasonId = "reason-" + review.id;
    const outcome = el("div", { class: "review-outcome", role: "status", "aria-live": "polite" });
    const formProblem = el("div", { role: "alert" });
    const reason = el("textarea", { id: reasonId, name: "reason", rows: "2", "aria-required": "true",
      "aria-describedby": reasonId + "-help" });
    const reviewer = el("input", { id: "reviewer-" + review.id, name: "reviewer", type: "text", autocomplete: "name" });
    const form = el("form", { class: "review-form", "data-review-id": review.id },
      el("div", { class: "field" }, el("label", { for: reasonId, text: "Reason (goes into the audit log)" }), reason,
        el("p", { id: reasonId + "-help", class: "hint", text: "Required, for approvals and rejections alike." })),
      el("div", { class: "field" }, el("label", { for: "reviewer-" + review.id }, "Your name ", el("span", { class: "muted", text: "(optional)" })), reviewer),
      el("div", { class: "actions" },
        el("button", { type: "submit", name: "action", value: "approve", class: "approve" }, "Approve"),
        el("button", { type: "submit", name: "action", value: "reject", class: "reject" }, "Reject")),
      formProblem);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const action = event.submitter ? event.submitter.value : "approve";
      O.clear(formProblem);
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      try {
        // a blank reason is sent as is: the API owns the rule and its message
        const result = await O.apiJSON(`/v1/reviews/${encodeURIComponent(review.id)}`, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ action, reason: reason.value, reviewer: reviewer.value.trim() }),
        });
        const after = result.generation || {};
        form.replaceWith(outcome);
        article.classList.add("resolved", action === "approve" ? "approved" : "rejected");
        outcome.append(el("p", {}, el("strong", { text: action === "approve" ? "Approved." : "Rejected." }),
          ` The generation is now ${after.status}. Decision `, el("code", { text: result.review_decision_id }), " was added to the audit log."),
          el("p", {}, el("a", { href: "/generate?id=" + encodeURIComponent(after.id || review.generation_id) }, "Follow the generation")));
        status.textContent = `Review of ${O.shortId(review.generation_id)} ${action === "approve" ? "approved" : "rejected"}.`;
      } catch (error) {
        for (const button of form.querySelectorAll("button")) button.disabled = false;
        O.renderProblem(formProblem, error, `Could not ${action} this review.`);
        reason.focus();
      }
    });

    const media = el("div", { class: "review-media" });
    const article = el("article", { class: "card review", "aria-labelledby": headingId, "data-review-id": review.id,
      "data-needs-media": review.links && (review.links.input_image || review.links.video) ? "true" : null },
      el("h2", { id: headingId }, "Generation ", el("code", { text: O.shortId(review.generation_id) }),
        el("span", { class: "muted", text: ` — held at ${review.stage === "output" ? "output" : "input"} screening` })),
      decision.categories && decision.categories.length ? O.categoryList(decision.categories) : null,
      definitionList([
        ["Held at", O.formatTime(review.held_at)],
        ["Prompt", generation.prompt],
        ["Mode", generation.mode], ["Model", generation.model],
        ["Policy version", decision.policy_version],
        ["Decision", decision.id ? el("code", { text: decision.id }) : null],
        ["Generation", el("code", { text: review.generation_id })],
      ]),
      media, signalsTable(decision.screening), form);
    article._review = review;
    return article;
  }

  /* Input images and held clips need the API key, so they are fetched and shown from blob: URLs. */
  async function loadMedia(article) {
    const review = article._review;
    const media = article.querySelector(".review-media");
    for (const [kind, path] of [["image", review.links.input_image], ["video", review.links.video]]) {
      if (!path) continue;
      try {
        const blob = await (await O.api(path)).blob();
        const url = URL.createObjectURL(blob);
        blobUrls.push(url);
        media.append(kind === "image"
          ? el("figure", {}, el("img", { src: url, alt: "The input image of the held request" }), el("figcaption", { text: "Input image" }))
          : el("figure", {}, el("video", { src: url, controls: true, muted: true, playsinline: true, "aria-label": "The held output clip" }),
            el("figcaption", { text: "Output clip (held)" })));
      } catch (error) {
        media.append(el("p", { class: "muted", text: `Could not load the ${kind}: ${O.toProblem(error).detail || ""}` }));
      }
    }
  }

  document.getElementById("reviews-refresh").addEventListener("click", load);
  O.onKey(load);
  if (!O.getKey()) load();
})();
