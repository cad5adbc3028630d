// The rule playground: post an article and/or a query, show what fires and why.

import { figure, h, highlight, plural, postJSON } from "./dom.js";

function markedField(article, detections, field) {
  const spans = detections.flatMap((d) => d.spans.filter((s) => s.field === field)
    .map((s) => ({ range: [s.start, s.end], label: `${s.term} (${d.rule_id})` })));
  return highlight(article[field], spans.map((s) => s.range), spans.map((s) => s.label));
}

function queryVerdict(query) {
  if (query.ok) {
    return h("p", { class: "message" }, "The query is valid. Its terms: ",
      query.terms.map((t, i) => [i ? ", " : "", h("code", {}, t)]));
  }
  return h("div", { class: "error", role: "alert" },
    h("p", {}, "The query is malformed: ", query.error,
      query.column ? ` (column ${query.column})` : ""),
    query.caret ? h("pre", { class: "caret", "aria-label": "The query with a caret under the fault" }, query.caret) : null);
}

function detectionCard(d) {
  const matches = d.spans.map((s) => `${s.term || s.text} → “${s.text}” in ${s.field}`);
  return h("li", { class: `alert sev-${d.severity}` },
    h("div", { class: "alert-meta" },
      h("span", { class: `badge sev sev-${d.severity}` }, d.severity),
      h("span", { class: "badge category" }, d.category.replaceAll("_", " ")),
      d.adhoc ? h("span", { class: "badge update" }, "your query") : null),
    h("h4", {}, d.rule_title, " ", h("code", {}, d.rule_id)),
    d.snippet ? h("blockquote", { class: "snippet" }, highlight(d.snippet, d.snippet_highlights)) : null,
    h("p", {}, h("strong", {}, "Why: "), d.spans.length === 1 ? "1 match" : `${d.spans.length} matches`,
      `, aboutness score ${d.score}`,
      h("ul", { class: "why" }, matches.slice(0, 20).map((m) => h("li", {}, m)))),
    d.values.length
      ? h("p", { class: "figures" }, "Figures: ", d.values.map((v, i) => [i ? ", " : "",
        h("span", { class: "figure" }, `${v.kind.replace("_", " ")} ${figure(v) || v.extreme || ""}`)]))
      : null);
}

/** The playground form and its result. */
export class Playground {
  constructor(root) {
    this.form = root.querySelector("#playground-form");
    this.result = root.querySelector("#playground-result");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
  }

  async run() {
    const f = this.form.elements;
    const body = {
      title: f.title.value, body: f.body.value, query: f.query.value,
      language: f.language.value.trim() || "en",
    };
    if (!body.title.trim() && !body.body.trim() && !body.query.trim()) {
      this.result.replaceChildren(h("p", { class: "error" }, "Paste an article or write a query first."));
      return;
    }
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    this.result.setAttribute("aria-busy", "true");
    try {
      const { ok, data } = await postJSON("/api/playground", body);
      this.result.replaceChildren(...(ok ? this.render(data)
        : [h("p", { class: "error", role: "alert" }, data.error)]));
    } catch (err) {
      this.result.replaceChildren(h("p", { class: "error" }, `The dashboard did not answer: ${err.message}`));
    } finally {
      button.disabled = false;
      this.result.setAttribute("aria-busy", "false");
    }
  }

  render(data) {
    const parts = [];
    if (data.query) parts.push(queryVerdict(data.query));
    if (!data.article) {
      parts.push(h("p", { class: "muted" }, "Paste an article to see which rules fire on it."));
      return parts;
    }
    const fired = data.detections;
    parts.push(h("p", { class: "summary" },
      fired.length ? `${plural(fired.length, "rule")} fired` : "No rule fired",
      ` (rule set ${data.ruleset_version}).`));
    parts.push(h("article", { class: "preview", "aria-label": "The article with the matches marked" },
      h("h3", {}, markedField(data.article, fired, "title")),
      h("p", { class: "body" }, markedField(data.article, fired, "body"))));
    if (fired.length) parts.push(h("ul", { class: "alerts results" }, fired.map(detectionCard)));
    if (data.entities.length) {
      parts.push(h("p", {}, "Entities found: "),
        h("ul", { class: "entities" }, data.entities.map((e) => h("li", { title: e.id }, e.name))));
    }
    return parts;
  }
}
