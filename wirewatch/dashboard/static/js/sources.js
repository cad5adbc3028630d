// Sources: each fetched source's health (status, last fetch, last new item, items a day, error).

import { h, plural, timeEl } from "./dom.js";

const FAILING = new Set(["failed", "refused", "rate_limited"]);

function statusCell(row) {
  const label = row.status.replaceAll("_", " ");
  const kind = row.alerting ? "sev sev-high" : FAILING.has(row.status) ? "sev sev-medium" : "state-active";
  return h("td", {},
    h("span", { class: `badge ${kind}` }, row.alerting ? `${label}, alerting` : label),
    row.push ? h("span", { class: "badge", title: "WebSub subscription" }, `push ${row.push}`) : null);
}

function sourceRow(row) {
  return h("tr", { class: row.alerting ? "alerting" : "", "data-source": row.id },
    h("th", { scope: "row" },
      h("span", { class: "rule-title" }, row.name),
      h("code", {}, row.id)),
    statusCell(row),
    h("td", {}, row.last_fetch_at ? timeEl(row.last_fetch_at) : h("span", { class: "muted" }, "never")),
    h("td", {}, row.last_new_item_at ? timeEl(row.last_new_item_at) : h("span", { class: "muted" }, "none")),
    h("td", { class: "num" }, String(row.items_per_day)),
    h("td", { class: "error-text" }, row.error || ""));
}

/** Renders the Sources panel when its data changed. */
export class Sources {
  constructor(root) {
    this.summary = root.querySelector("#sources-summary");
    this.body = root.querySelector("#sources-table tbody");
    this.seen = "";
  }

  render(view) {
    const json = JSON.stringify(view);
    if (json === this.seen) return;
    this.seen = json;
    if (!view.total) {
      this.summary.textContent = "No fetched sources yet.";
      this.body.replaceChildren();
      return;
    }
    const counts = Object.entries(view.by_status).map(([s, n]) => `${n} ${s.replaceAll("_", " ")}`);
    const shown = view.rows.length < view.total ? `, ${view.rows.length} shown` : "";
    this.summary.textContent =
      `${plural(view.total, "source")} (${counts.join(", ")}); ${view.alerting} alerting${shown}.`;
    this.body.replaceChildren(...view.rows.map(sourceRow));
  }
}
