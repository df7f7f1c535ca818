/* Shared by every page: the API key, calls to the JSON API, problem display, small DOM helpers.
   Exposed as window.Originframe because the pages load plain scripts (no build step). */
"use strict";

(function () {
  const KEY_STORAGE = "originframe.apiKey";

  // sessionStorage, not localStorage: the key should not outlive the tab it was typed into
  function getKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ""; } catch (error) { return ""; }
  }
  function setKey(key) { sessionStorage.setItem(KEY_STORAGE, key); }
  function forgetKey() { sessionStorage.removeItem(KEY_STORAGE); }

  function authHeaders(extra) {
    const headers = new Headers(extra || {});
    const key = getKey();
    if (key) headers.set("Authorization", "Bearer " + key);
    return headers;
  }

  /* An API error as the page shows it: the RFC 9457 problem when there is one, otherwise a
     problem-shaped stand-in, so every caller renders failures the same way. */
  class ApiProblem extends Error {
    constructor(problem) {
      super(problem.detail || problem.title || "request failed");
      this.problem = problem;
    }
  }

  async function problemFrom(response) {
    const type = response.headers.get("content-type") || "";
    let body = null;
    try {
      body = type.includes("json") ? await response.json() : { detail: (await response.text()).slice(0, 500) };
    } catch (error) {
      body = {};
    }
    if (!body || typeof body !== "object") body = { detail: String(body) };
    return Object.assign({ status: response.status, title: response.statusText || "HTTP " + response.status }, body);
  }

  function networkProblem(error) {
    return { title: "Cannot reach the service", detail: String(error && error.message || error), status: 0 };
  }

  async function api(path, options) {
    options = options || {};
    const init = Object.assign({}, options, { headers: authHeaders(options.headers) });
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiProblem(networkProblem(error));
    }
    if (!response.ok) throw new ApiProblem(await problemFrom(response));
    return response;
  }

  async function apiJSON(path, options) {
    const response = await api(path, options);
    return response.json();
  }

  function toProblem(error) {
    if (error instanceof ApiProblem) return error.problem;
    return { title: "Something went wrong in the page", detail: String(error && error.message || error) };
  }

  /* el("p", {class: "x", text: "hi"}, child...) — children may be strings, nodes, null or arrays. */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  const CATEGORY_LABELS = {
    sexual: "Sexual content", sexual_minors: "Sexual content involving minors",
    real_person_likeness: "Likeness of a real person", violence_gore: "Violence or gore", self_harm: "Self-harm",
    hate_extremism: "Hate or extremism", misinformation: "Misinformation",
  };
  function categoryLabel(name) { return CATEGORY_LABELS[name] || name; }

  function categoryList(categories) {
    return el("ul", { class: "chips" }, categories.map((name) =>
      el("li", { class: "chip chip-" + name, "data-category": name }, el("span", { text: categoryLabel(name) }),
        categoryLabel(name) !== name ? el("code", { text: name }) : null)));
  }

  /* The API's reason, in the page: title, detail, and for policy refusals the categories and ids. */
  function renderProblem(container, problemOrError, intro) {
    const problem = problemOrError && problemOrError.title !== undefined && !(problemOrError instanceof Error)
      ? problemOrError : toProblem(problemOrError);
    clear(container);
    const box = el("div", { class: "problem", "data-status": problem.status || "" },
      el("h2", { class: "problem-title", text: problem.title || "Request failed" }),
      intro ? el("p", { text: intro }) : null,
      problem.detail ? el("p", { class: "problem-detail", text: problem.detail }) : null);
    if (Array.isArray(problem.categories) && problem.categories.length) {
      append(box, [el("p", { text: "Policy categories that refused it:" }), categoryList(problem.categories)]);
    }
    const facts = [];
    if (problem.status) facts.push(["HTTP status", String(problem.status)]);
    if (problem.field) facts.push(["Field", problem.field]);
    if (problem.required_scope) facts.push(["Scope needed", problem.required_scope]);
    if (problem.decision_id) facts.push(["Decision", problem.decision_id]);
    if (problem.generation_id) facts.push(["Generation", problem.generation_id]);
    if (problem.status === 401) facts.push(["What to do", "Enter a valid API key at the top of the page."]);
    if (facts.length) box.append(definitionList(facts, "facts compact"));
    container.append(box);
    return box;
  }

  function definitionList(pairs, className) {
    return el("dl", { class: className || "facts" }, pairs.filter((pair) => pair && pair[1] !== undefined && pair[1] !== null && pair[1] !== "")
      .map(([term, value]) => el("div", {}, el("dt", { text: term }), el("dd", {}, value instanceof Node ? value : String(value)))));
  }

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const units = ["bytes", "KB", "MB", "GB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function shortId(id) { return id ? String(id).slice(0, 8) : ""; }

  /* Save bytes the page already holds (downloads need the auth header, so no plain link works). */
  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  /* The key control in the header: enter once per tab, see which key and scopes, forget it. */
  function setupKeyControl() {
    const form = document.getElementById("key-form");
    const input = document.getElementById("key-input");
    const status = document.getElementById("key-status");
    const problem = document.getElementById("key-problem");

    async function show() {
      const key = getKey();
      clear(problem);
      form.hidden = Boolean(key);
      status.hidden = !key;
      if (!key) return;
      document.getElementById("key-id").textContent = key.slice(0, 10) + "…";
      const scopes = document.getElementById("key-scopes");
      scopes.textContent = "";
      try {
        const me = await apiJSON("/v1/keys/me");
        document.getElementById("key-id").textContent = me.id;
        scopes.textContent = (me.name ? me.name + " · " : "") + "scopes: " + me.scopes.join(", ");
        document.dispatchEvent(new CustomEvent("originframe:key", { detail: me }));
      } catch (error) {
        if (error instanceof ApiProblem && error.problem.status === 401) {
          forgetKey();
          form.hidden = false;
          status.hidden = true;
          renderProblem(problem, error, "That key was not accepted, so it was not kept.");
          input.focus();
        } else {
          scopes.textContent = "(could not check the key's scopes)";
        }
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) { input.focus(); return; }
      setKey(key);
      input.value = "";
      show();
    });
    document.getElementById("key-forget").addEventListener("click", () => {
      forgetKey();
      show();
      document.dispatchEvent(new CustomEvent("originframe:key", { detail: null }));
      input.focus();
    });
    show();
  }

  /* Run page code once the key control has been wired, and again whenever the key changes. */
  function onKey(callback) {
    document.addEventListener("originframe:key", (event) => callback(event.detail));
  }

  window.Originframe = {
    getKey, api, apiJSON, ApiProblem, toProblem, renderProblem, problemFrom, authHeaders, el, append, clear,
    definitionList, categoryList, categoryLabel, formatBytes, formatTime, shortId, saveBlob, onKey,
  };

  document.addEventListener("DOMContentLoaded", setupKeyControl);
})();
