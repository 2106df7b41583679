// Building elements without innerHTML: every text goes in as a text node,
// so nothing a run, a step or a log holds can become markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// Times come from the API as RFC 3339 with nanoseconds; Date takes ms.
export function parseTime(t) {
  return t ? new Date(t.replace(/(\.\d{3})\d*Z$/, "$1Z")) : null;
}

export function fmtTime(t) {
  const d = parseTime(t);
  return d ? d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = Math.round(ms / 100) / 10;
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  return `${m} min ${Math.round(sec - m * 60)} s`;
}

export const ENDED = new Set(["succeeded", "failed", "cancelled"]);

// fn (async) now and then every ms after each one ends; one at a time: a
// kick() during a call asks for the next one at once instead of starting
// a second loop.
export function poller(fn, ms) {
  let timer = null, inflight = false, soon = false, stopped = false;
  const loop = () => {
    inflight = true;
    Promise.resolve().then(fn).catch(() => {}).finally(() => {
      inflight = false;
      if (!stopped) timer = setTimeout(loop, soon ? 0 : ms);
      soon = false;
    });
  };
  loop();
  return {
    kick() {
      if (stopped) return;
      if (inflight) soon = true;
      else {
        clearTimeout(timer);
        loop();
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
