/* The per-frame watermark score chart, drawn as inline SVG (no chart library, nothing from a CDN).
   Sized to its container in CSS pixels so its text stays legible on a phone; redrawn on resize. */
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceNumber(value) {
    const abs = Math.abs(value);
    return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
  }

  /* Draw scores (one per analysed frame) and a horizontal threshold line into `host`, replacing its
     content. With `times` (seconds of each score) the x axis is time in the file, so sampled frames
     sit where they are; `bands` ({start_s, end_s, label}) shade the time ranges that carry a mark. */
  function draw(host, options) {
    const scores = options.scores;
    const threshold = typeof options.threshold === "number" ? options.threshold : null;
    const fps = options.fps > 0 ? options.fps : null;
    const times = Array.isArray(options.times) && options.times.length === scores.length ? options.times : null;
    const bands = times ? (options.bands || []).filter((b) => typeof b.start_s === "number" && typeof b.end_s === "number") : [];
    const width = Math.max(280, Math.floor(host.clientWidth || 600));
    const height = width < 480 ? 190 : 220;
    const pad = { left: 46, right: 14, top: 14, bottom: 40 };
    const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;

    const values = scores.concat(threshold === null ? [] : [threshold]);
    let low = Math.min(0, ...values), high = Math.max(1, ...values);
    if (high === low) high = low + 1;
    const span = times ? Math.max(times[times.length - 1], ...bands.map((b) => b.end_s)) || 1 : 0;
    const xAt = (t) => pad.left + (t / span) * plotW;
    const x = times ? (i) => xAt(times[i])
      : (i) => pad.left + (scores.length > 1 ? (i / (scores.length - 1)) * plotW : plotW / 2);
    const y = (v) => pad.top + (1 - (v - low) / (high - low)) * plotH;

    const above = threshold === null ? 0 : scores.filter((s) => s >= threshold).length;
    const description = `${scores.length} frame${scores.length === 1 ? "" : "s"}` +
      (threshold === null ? "" : `; ${above} at or above the per-frame threshold ${niceNumber(threshold)}`) +
      `; scores from ${niceNumber(Math.min(...scores))} to ${niceNumber(Math.max(...scores))}.`;

    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
      "aria-labelledby": options.id + "-title " + options.id + "-desc" });
    root.append(svg("title", { id: options.id + "-title" }, options.title));
    root.append(svg("desc", { id: options.id + "-desc" }, description));

    // axes and gridlines at low, the middle and high
    for (const v of [low, (low + high) / 2, high]) {
      root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }));
      root.append(svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, niceNumber(v)));
    }
    for (const band of bands) {
      const x1 = xAt(band.start_s), x2 = Math.max(xAt(band.end_s), x1 + 2);
      const rect = svg("rect", { x: x1, y: pad.top, width: x2 - x1, height: plotH, class: "band",
        "data-start": String(band.start_s), "data-end": String(band.end_s) });
      rect.append(svg("title", {}, band.label));
      root.append(rect);
    }
    const last = scores.length - 1;
    if (times) {
      const decimals = span < 2 ? 2 : 1;
      for (const t of [0, span / 2, span]) {
        root.append(svg("text", { x: xAt(t), y: height - pad.bottom + 16, "text-anchor": "middle", class: "tick" }, t.toFixed(decimals) + " s"));
      }
    } else {
      const xTicks = last > 0 ? [0, Math.round(last / 2), last] : [0];
      const decimals = fps && last / fps < 2 ? 2 : 1; // short clips need finer time labels to stay distinct
      for (const i of xTicks) {
        const label = fps ? (i / fps).toFixed(decimals) + " s" : String(i + 1);
        root.append(svg("text", { x: x(i), y: height - pad.bottom + 16, "text-anchor": "middle", class: "tick" }, label));
      }
    }
    root.append(svg("text", { x: pad.left + plotW / 2, y: height - 6, "text-anchor": "middle", class: "axis-label" },
      times || fps ? "time in the clip" : "frame"));

    if (threshold !== null) {
      const ty = y(threshold);
      root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: ty, y2: ty, class: "threshold" }));
      root.append(svg("text", { x: width - pad.right, y: ty - 5, "text-anchor": "end", class: "threshold-label" },
        (options.thresholdLabel || "threshold") + " " + niceNumber(threshold)));
    }

    const points = scores.map((s, i) => `${x(i).toFixed(1)},${y(s).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, class: "series" }));
    scores.forEach((s, i) => {
      const passes = threshold !== null && s >= threshold;
      const dot = svg("circle", { cx: x(i), cy: y(s), r: scores.length > 60 ? 1.8 : 3.2, class: passes ? "dot pass" : "dot" });
      const frame = Array.isArray(options.frames) ? options.frames[i] + 1 : i + 1;
      dot.append(svg("title", {}, `frame ${frame}${times ? ` (${times[i].toFixed(2)} s)` : ""}: ${niceNumber(s)}`));
      root.append(dot);
    });

    host.replaceChildren(root);
  }

  /* A <figure> with the chart, a caption and the numbers as a table for people who cannot see it. */
  function frameScoreChart(options) {
    const { el } = Originframe;
    const host = el("div", { class: "chart-host", "data-frames": String(options.scores.length) });
    const frameNumber = (i) => String(Array.isArray(options.frames) ? options.frames[i] + 1 : i + 1);
    const rows = options.scores.map((s, i) => el("tr", {}, el("td", { text: frameNumber(i) }), el("td", { text: s.toFixed(3) }),
      options.threshold === undefined || options.threshold === null ? null : el("td", { text: s >= options.threshold ? "yes" : "no" })));
    const table = el("details", { class: "chart-data" }, el("summary", { text: "Scores as a table" }),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Frame" }), el("th", { scope: "col", text: "Score" }),
        options.threshold === undefined || options.threshold === null ? null : el("th", { scope: "col", text: "Above threshold" }))),
        el("tbody", {}, rows)));
    const figure = el("figure", { class: "chart-figure", id: options.id }, host,
      el("figcaption", { text: options.caption || options.title }), table);

    let frame = null;
    const redraw = () => { if (host.isConnected) draw(host, options); };
    // draw once attached (the width is known then), and again whenever the layout width changes
    new ResizeObserver(() => { cancelAnimationFrame(frame); frame = requestAnimationFrame(redraw); }).observe(host);
    return figure;
  }

  window.OriginframeChart = { frameScoreChart };
})();
