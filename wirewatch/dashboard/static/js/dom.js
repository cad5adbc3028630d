// Building the page safely. Article text is input from anyone on the internet:
// it only ever enters the page as text nodes (append, textContent), never as HTML.

/** Create an element: h("a", {href, class: "x"}, "text", child). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  appendAll(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an SVG element, the same way. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  appendAll(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Text with <mark>s at the given [start, end) ranges. Offsets count Unicode code
 * points (they come from Python strings), not UTF-16 units, so the text is split
 * into code points first. Overlapping ranges are merged; labels become the
 * mark's title (the matched term).
 */
export function highlight(text, ranges, labels = []) {
  const chars = Array.from(text || "");
  const spans = ranges
    .map(([start, end], i) => [Math.max(0, start), Math.min(chars.length, end), labels[i] || ""])
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const [start, end, label] of spans) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) {
      last[1] = Math.max(last[1], end);
      if (label && !last[2].includes(label)) last[2] = last[2] ? `${last[2]}, ${label}` : label;
    } else {
      merged.push([start, end, label]);
    }
  }
  const out = document.createDocumentFragment();
  let at = 0;
  for (const [start, end, label] of merged) {
    if (start > at) out.append(chars.slice(at, start).join(""));
    out.append(h("mark", { title: label || null }, chars.slice(start, end).join("")));
    at = end;
  }
  if (at < chars.length) out.append(chars.slice(at).join(""));
  return out;
}

/** The URL if it is http(s), else null: a javascript: or data: link must never be clickable. */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dated = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

/** A <time> element showing a local time (with the date unless today); the title is UTC. */
export function timeEl(iso) {
  if (!iso) return h("span", { class: "muted" }, "undated");
  const when = new Date(iso);
  const today = new Date().toDateString() === when.toDateString();
  return h("time", { datetime: when.toISOString(), title: when.toUTCString() },
    today ? clock.format(when) : dated.format(when));
}

/** "1 article", "3 articles". */
export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Format a figure: 19.4 USD/bbl. */
export function figure(value) {
  const number = value.value === null || value.value === undefined
    ? ""
    : Number(value.value).toLocaleString(undefined, { maximumFractionDigits: 2 });
  const unit = [value.currency, value.unit].filter(Boolean).join("/");
  const sign = value.kind === "change_pct" ? "%" : "";
  return [number + sign, unit].filter(Boolean).join(" ");
}

/** The CSRF token of this visitor's session (the server sets it in a readable cookie). */
function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("wirewatch_csrf="));
  return found ? decodeURIComponent(found.slice("wirewatch_csrf=".length)) : "";
}

/** POST JSON; resolve to {ok, status, data} (data has .error when the server refused). */
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `the server answered ${response.status}` };
  }
  return { ok: response.ok, status: response.status, data };
}

/** "teaser read on <page>" for an article that is a teaser; null for any other. */
export function teaserNote(evidence) {
  if (evidence.kind !== "teaser" || !evidence.found_on) return null;
  const page = evidence.found_on;
  const url = safeUrl(page.url);
  const title = page.title || page.url || page.id;
  return h("span", { class: "teaser-note" }, "teaser read on ",
    url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, title) : title);
}
