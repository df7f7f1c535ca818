/* The Audit page: filter the decision log, check its hash chain, export it. */
"use strict";

(function () {
  const O = window.Originframe;
  const { el } = O;
  const PAGE_SIZE = 100;

  const form = document.getElementById("audit-filters");
  const tbody = document.querySelector("#audit-table tbody");
  const status = document.getElementById("audit-status");
  const problemBox = document.getElementById("audit-problem");
  const more = document.getElementById("audit-more");
  const chainStatus = document.getElementById("chain-status");
  let cursor = null;
  let shown = 0;

  /* The filters as API query parameters. datetime-local values are the viewer's local time;
     the API wants ISO 8601 with a zone, so they are converted to UTC here. */
  function filters() {
    const params = new URLSearchParams();
    for (const field of form.elements) {
      if (!field.name || field.value.trim() === "") continue;
      let value = field.value.trim();
      if (field.type === "datetime-local") {
        const moment = new Date(value);
        value = Number.isNaN(moment.getTime()) ? value : moment.toISOString();
      }
      params.set(field.name, value);
    }
    return params;
  }

  /* Filters also live in the page URL (as typed), so a filtered view can be bookmarked or shared. */
  function restoreFilters() {
    const params = new URLSearchParams(location.search);
    for (const field of form.elements) {
      if (field.name && params.has(field.name)) field.value = params.get(field.name);
    }
  }
  function rememberFilters() {
    const params = new URLSearchParams();
    for (const field of form.elements) if (field.name && field.value.trim()) params.set(field.name, field.value.trim());
    history.replaceState(null, "", params.toString() ? "/audit?" + params : "/audit");
  }

  function row(record) {
    const categories = record.categories && record.categories.length ? O.categoryList(record.categories) : el("span", { class: "muted", text: "—" });
    const detailsId = "record-" + record.sequence;
    const toggle = el("button", { type: "button", class: "link-button", "aria-expanded": "false", "aria-controls": detailsId }, "Show");
    // data-label names each cell for the stacked layout on narrow screens
    const cell = (label, ...content) => el("td", { "data-label": label }, content);
    const tr = el("tr", { "data-decision": record.decision, "data-kind": record.kind, "data-sequence": String(record.sequence) },
      cell("#", String(record.sequence)),
      cell("Time (UTC)", el("time", { datetime: record.created_at, text: O.formatTime(record.created_at) })),
      cell("Kind", record.kind),
      cell("Decision", el("span", { class: "decision decision-" + record.decision, text: record.decision })),
      cell("Categories", categories),
      cell("API key", record.api_key_id ? el("code", { text: record.api_key_id }) : ""),
      cell("Generation", record.generation_id ? el("code", { title: record.generation_id, text: O.shortId(record.generation_id) }) : ""),
      cell("Policy", record.policy_version ? el("code", { text: record.policy_version }) : ""),
      cell("Record", toggle));
    const detail = el("tr", { id: detailsId, class: "record-detail", hidden: true },
      el("td", { colspan: "9" }, el("pre", { text: JSON.stringify(record, null, 2) })));
    toggle.addEventListener("click", () => {
      const open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide" : "Show";
    });
    return [tr, detail];
  }

  async function load(append) {
    O.clear(problemBox);
    if (!O.getKey()) {
      status.textContent = "Enter an API key with the audit scope to see the decision log.";
      return;
    }
    const params = filters();
    params.set("limit", String(PAGE_SIZE));
    if (append && cursor !== null) params.set("cursor", String(cursor));
    status.textContent = "Loading decisions…";
    try {
      const body = await O.apiJSON("/v1/audit/decisions?" + params);
      if (!append) { tbody.replaceChildren(); shown = 0; }
      for (const record of body.items) tbody.append(...row(record));
      shown += body.items.length;
      cursor = body.next_cursor;
      more.hidden = cursor === null || cursor === undefined;
      status.textContent = shown ? `${shown} decision${shown === 1 ? "" : "s"} shown${more.hidden ? "" : " (more available)"}.`
        : "No decisions match these filters.";
      document.getElementById("audit-table").dataset.loaded = "true";
    } catch (error) {
      if (!append) tbody.replaceChildren();
      more.hidden = true;
      status.textContent = "Could not load the decisions.";
      O.renderProblem(problemBox, error);
    }
  }

  async function checkChain() {
    if (!O.getKey()) { chainStatus.textContent = "Enter an API key with the audit scope to check the chain."; return; }
    chainStatus.textContent = "Checking every record of the chain…";
    chainStatus.dataset.ok = "";
    try {
      const report = await O.apiJSON("/v1/audit/verify");
      chainStatus.dataset.ok = String(report.ok);
      chainStatus.replaceChildren(report.ok
        ? el("p", { class: "chain-ok" }, el("strong", { text: "Intact." }),
          ` ${report.checked} record${report.checked === 1 ? "" : "s"} checked; none was edited, deleted, inserted or reordered.`)
        : el("p", { class: "chain-bad" }, el("strong", { text: `Broken: ${report.problem}.` }),
          ` First bad record: sequence ${report.first_bad_sequence ?? "?"} (position ${report.first_bad_position ?? "?"}). ${report.detail || ""}`),
        report.head_hash ? el("p", { class: "hint" }, "Head hash (keep it elsewhere to detect truncation later): ",
          el("code", { class: "hash", text: report.head_hash })) : "");
    } catch (error) {
      chainStatus.dataset.ok = "";
      chainStatus.textContent = "";
      O.renderProblem(chainStatus, error, "Could not check the chain.");
    }
  }

  /* Exports need the API key, so the file is fetched and then saved from a blob. */
  async function exportAs(format) {
    O.clear(problemBox);
    const params = filters();
    params.set("format", format);
    status.textContent = `Exporting ${format.toUpperCase()}…`;
    try {
      const blob = await (await O.api("/v1/audit/decisions?" + params)).blob();
      O.saveBlob(blob, `decisions.${format}`);
      status.textContent = `Exported decisions.${format} (${O.formatBytes(blob.size)}).`;
    } catch (error) {
      status.textContent = "The export failed.";
      O.renderProblem(problemBox, error, "Could not export.");
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); rememberFilters(); cursor = null; load(false); });
  form.addEventListener("reset", () => setTimeout(() => { rememberFilters(); cursor = null; load(false); }));
  more.addEventListener("click", () => load(true));
  document.getElementById("chain-check").addEventListener("click", checkChain);
  document.getElementById("export-jsonl").addEventListener("click", () => exportAs("jsonl"));
  document.getElementById("export-csv").addEventListener("click", () => exportAs("csv"));
  restoreFilters();
  O.onKey((me) => { if (me) { load(false); checkChain(); } else { tbody.replaceChildren(); load(false); checkChain(); } });
  if (!O.getKey()) { load(false); checkChain(); }
})();
