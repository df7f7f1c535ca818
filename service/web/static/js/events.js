/* Server-Sent Events read with fetch(): EventSource cannot send an Authorization header, so the
   stream is read with a ReadableStream reader and parsed by the rules of the SSE format. */
"use strict";

(function () {
  /* Split a text stream into events. Returns a function to feed text chunks into; calls
     onEvent({event, data, id}) for each complete event. Comments (":" lines) are ignored. */
  function sseParser(onEvent) {
    let buffer = "";
    let event = "", data = [], id = null;

    function line(text) {
      if (text === "") {
        if (data.length) onEvent({ event: event || "message", data: data.join("\n"), id });
        event = ""; data = [];
        return;
      }
      if (text.startsWith(":")) return;
      const colon = text.indexOf(":");
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }

    return function feed(chunk) {
      buffer += chunk;
      // lines end in \n, \r\n or \r; keep a trailing partial line (and a lone \r that may precede \n)
      const parts = buffer.split(/\r\n|\n|\r(?!$)/);
      buffer = parts.pop();
      for (const part of parts) line(part);
    };
  }

  /* Read an SSE endpoint until it closes. Resolves when the server ends the stream; rejects with
     Originframe.ApiProblem on an HTTP error (the body is a problem document, not a stream). */
  async function readEvents(path, onEvent, signal) {
    const response = await Originframe.api(path, { headers: { Accept: "text/event-stream" }, signal, cache: "no-store" });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const feed = sseParser(onEvent);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) { feed(decoder.decode() + "\n\n"); return; }
      feed(decoder.decode(value, { stream: true }));
    }
  }

  window.OriginframeEvents = { readEvents, sseParser };
})();
