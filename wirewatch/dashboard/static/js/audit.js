// The Audit panel: every write people made, newest first, from /api/audit.
// It reloads when the status says the trail grew, or when a filter changes.

import { h, timeEl } from "./dom.js";

const FILTERS = ["actor", "action", "target"];

function changes(event) {
  const before = event.before || {};
  const after = event.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
  if (!keys.length) return h("span", { class: "muted" }, "no change");
  return h("details", {},
    h("summary", {}, keys.join(", ")),
    h("dl", { class: "changes" }, keys.flatMap((key) => [
      h("dt", {}, key),
      h("dd", {},
        event.before ? h("code", { class: "before" }, JSON.stringify(before[key] ?? null)) : null,
        event.before && event.after ? " → " : null,
        event.after ? h("code", { class: "after" }, JSON.stringify(after[key] ?? null)) : null),
    ])));
}

/** The audit table and its filters. */
export class Audit {
  constructor(root) {
    this.form = root.querySelector("#audit-filters");
    this.body = root.querySelector("#audit-table tbody");
    this.count = root.querySelector("#audit-count");
    this.version = null;
    this.pending = null;
    this.form.addEventListener("input", () => {
      clearTimeout(this.pending);
      this.pending = setTimeout(() => this.load(), 250);
    });
    this.form.addEventListener("submit", (event) => event.preventDefault());
  }

  /** Reload when the trail changed (the status carries its version). */
  refresh(version) {
    if (version === this.version) return;
    this.version = version;
    this.load();
  }

  async load() {
    const params = new URLSearchParams({ limit: "200" });
    for (const name of FILTERS) {
      const value = this.form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    const response = await fetch(`/api/audit?${params}`);
    if (!response.ok) {
      this.count.textContent = `The audit trail could not be read (${response.status}).`;
      return;
    }
    const data = await response.json();
    this.count.textContent = data.matching > data.events.length
      ? `The newest ${data.events.length} of ${data.matching} changes.`
      : `${data.matching} change${data.matching === 1 ? "" : "s"}.`;
    this.body.replaceChildren(...data.events.map((event) => h("tr", { "data-id": event.id },
      h("td", {}, timeEl(event.at)),
      h("td", { class: "actor" }, event.actor, h("span", { class: "muted" }, ` (${event.via})`)),
      h("td", {}, h("code", { class: "action" }, event.action)),
      h("td", {}, h("code", {}, event.target)),
      h("td", { class: "muted" }, event.origin || "–"),
      h("td", {}, changes(event)))));
  }
}
