// The alert feed: cards newest first, a snapshot on (re)connect, then live additions.

import { figure, h, highlight, plural, safeUrl, teaserNote, timeEl } from "./dom.js";

const MAX_SHOWN = 200;
let cardNumber = 0;

function sourceList(alert) {
  return h("ul", { class: "sources", "aria-label": "Sources" },
    alert.evidence.map((evidence) => {
      const url = safeUrl(evidence.url);
      const name = evidence.source;
      return h("li", {},
        url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, name) : name,
        " ", timeEl(evidence.published_at), teaserNote(evidence) ? [" · ", teaserNote(evidence)] : null);
    }));
}

function figures(alert) {
  const shown = alert.values.filter((v) => v.value !== null && v.value !== undefined).slice(0, 4);
  if (!shown.length) return null;
  return h("p", { class: "figures" }, "Figures: ",
    shown.map((v, i) => [i ? ", " : "", h("span", { class: "figure", title: v.span.text },
      `${v.kind.replace("_", " ")} ${figure(v)}`)]));
}

/** The card of one alert. */
export function alertCard(alert, { onStory, onSilence }) {
  cardNumber += 1;
  const id = `alert-${cardNumber}`;
  const first = alert.evidence[0] || { snippet: "", snippet_highlights: [] };
  const severity = alert.severity;
  return h("li", { class: `alert sev-${severity}`, "data-key": alert.key },
    h("article", { "aria-labelledby": id },
      h("div", { class: "alert-meta" },
        h("span", { class: `badge sev sev-${severity}` }, severity),
        h("span", { class: "badge category" }, alert.category.replaceAll("_", " ")),
        alert.is_update ? h("span", { class: "badge update" }, "update") : null,
        timeEl(alert.created_at)),
      h("h3", { id }, alert.headline),
      h("p", { class: "rule" }, alert.rule_title, " ", h("code", {}, alert.rule_id)),
      first.snippet
        ? h("blockquote", { class: "snippet" },
          highlight(first.snippet, first.snippet_highlights))
        : null,
      h("p", { class: "corroboration" },
        `${plural(alert.article_count, "article")} from ${plural(alert.source_count, "source")}`),
      sourceList(alert),
      alert.entities.length
        ? h("ul", { class: "entities", "aria-label": "Entities" },
          alert.entities.slice(0, 8).map((e) => h("li", { title: e.id }, e.name)))
        : null,
      figures(alert),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => onStory(alert) },
          "Story", h("span", { class: "visually-hidden" }, `: ${alert.headline}`)),
        h("button", { type: "button", class: "secondary", onclick: () => onSilence(alert) },
          "Silence this rule…"))));
}

/** The feed list: keeps at most MAX_SHOWN cards, newest first, each alert key once. */
export class Feed {
  constructor(list, counter, actions) {
    this.list = list;
    this.counter = counter;
    this.actions = actions;
    this.entries = [];
    this.matching = 0;
    this.total = 0;
  }

  snapshot({ alerts, matching, total }) {
    this.list.setAttribute("aria-busy", "true");
    this.entries = alerts.map((alert) => this.entry(alert));
    this.list.replaceChildren(...this.entries.map((e) => e.el));
    this.matching = matching;
    this.total = total;
    this.list.setAttribute("aria-busy", "false");
    this.count();
  }

  add(alert) {
    if (this.entries.some((e) => e.key === alert.key)) return;
    const entry = this.entry(alert);
    let index = this.entries.findIndex((e) => e.at < entry.at);
    if (index < 0) index = this.entries.length;
    if (index >= MAX_SHOWN) return;
    const before = this.entries[index];
    this.entries.splice(index, 0, entry);
    this.list.insertBefore(entry.el, before ? before.el : null);
    while (this.entries.length > MAX_SHOWN) this.entries.pop().el.remove();
    this.matching += 1;
    this.total += 1;
    this.count();
  }

  entry(alert) {
    return { key: alert.key, at: Date.parse(alert.created_at), el: alertCard(alert, this.actions) };
  }

  count() {
    const shown = this.entries.length;
    if (!this.total) {
      this.counter.textContent = "No alerts yet: they appear here as the workers raise them.";
    } else if (!this.matching) {
      this.counter.textContent = `No alert matches the filters (${plural(this.total, "alert")} in memory).`;
    } else {
      this.counter.textContent = `Showing ${shown} of ${plural(this.matching, "matching alert")}`
        + ` (${this.total} in memory), newest first.`;
    }
  }
}
