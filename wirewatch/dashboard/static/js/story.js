// The story view: the articles behind an alert, their sources and times, and the
// figures read from them, with each figure's series over time as a chart.

import { lineChart } from "./charts.js";
import { figure, h, highlight, plural, safeUrl, teaserNote, timeEl } from "./dom.js";

function articleTable(story) {
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Articles" },
    h("table", { class: "articles" },
      h("caption", {}, `${plural(story.articles.length, "article")} from `
        + `${plural(story.sources.length, "source")}: ${story.sources.join(", ")}`),
      h("thead", {}, h("tr", {},
        ["Published", "Source", "Article"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, story.articles.map((a) => {
        const url = safeUrl(a.url);
        return h("tr", {},
          h("td", {}, timeEl(a.published_at)),
          h("td", {}, a.source),
          h("td", {},
            url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, a.title)
              : a.title,
            teaserNote(a) ? h("p", { class: "muted" }, teaserNote(a)) : null,
            a.snippet ? h("p", { class: "snippet" }, highlight(a.snippet, a.snippet_highlights)) : null));
      }))));
}

// Why each article is in the story: the cluster agent's own explanation.
function whyList(story) {
  if (!story.why || !story.why.length) return null;
  const titles = new Map(story.articles.map((a) => [a.article_id, a.title]));
  return h("details", { class: "why" },
    h("summary", {}, "Why these articles are one story"),
    h("ul", {}, story.why.map((w) => h("li", { "data-kind": w.kind },
      h("strong", {}, titles.get(w.article_id) || w.article_id), ": ", w.text))));
}

function figureTable(values, names) {
  const name = (id) => (id ? names[id] || id : "–");
  if (!values.length) return h("p", { class: "muted" }, "No figures were read from these articles.");
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Figures" },
    h("table", { class: "compact" },
      h("caption", {}, "Figures read from the text"),
      h("thead", {}, h("tr", {},
        ["Kind", "Value", "Commodity", "Benchmark", "As written"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, values.map((v) => h("tr", {},
        h("td", {}, v.kind.replace("_", " ")),
        h("td", { class: "num" }, figure(v) || v.extreme || v.direction || "–"),
        h("td", {}, name(v.commodity)),
        h("td", {}, name(v.benchmark)),
        h("td", {}, h("q", {}, v.span.text)))))));
}

function seriesFigure(series, mine) {
  const points = series.points.map((p) => ({
    at: p.at,
    value: p.value,
    mine: mine.has(p.article_id),
    title: `${new Date(p.at * 1000).toLocaleString()}: ${p.value} — ${p.source}: ${p.title}`,
  }));
  const last = points[points.length - 1];
  const summary = `${series.label}: ${plural(points.length, "point")}`
    + (last ? `, latest ${last.value}` : "") + ". This story's points are larger.";
  return h("figure", { class: "chart" },
    h("figcaption", {}, series.label),
    lineChart({ points, summary }),
    h("details", {},
      h("summary", {}, "Data"),
      h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": `${series.label} data` },
        h("table", { class: "compact" },
          h("thead", {}, h("tr", {}, ["When", "Value", "Source"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, series.points.slice().reverse().map((p) => h("tr", {},
            h("td", {}, timeEl(new Date(p.at * 1000).toISOString())),
            h("td", { class: "num" }, String(p.value)),
            h("td", {}, p.source))))))));
}

/** Fetches a story and shows it in the dialog. */
export class StoryView {
  constructor(dialog) {
    this.dialog = dialog;
    this.title = dialog.querySelector("#story-title");
    this.body = dialog.querySelector("#story-body");
  }

  async open(alert) {
    this.title.textContent = alert.headline;
    this.body.replaceChildren(h("p", { class: "muted" }, "Loading the story…"));
    if (!this.dialog.open) this.dialog.showModal();
    let response;
    let story;
    try {
      response = await fetch(`/api/stories/${encodeURIComponent(alert.story_id)}`);
      story = await response.json();
    } catch (err) {
      this.body.replaceChildren(h("p", { class: "error" }, `The dashboard did not answer: ${err.message}`));
      return;
    }
    if (!response.ok) {
      this.body.replaceChildren(h("p", { class: "error" }, story.error));
      return;
    }
    const mine = new Set(story.articles.map((a) => a.article_id));
    this.body.replaceChildren(
      h("p", { class: "muted" }, `${plural(story.alerts.length, "alert")} on this story · `
        + `story ${story.story_id}`),
      h("h3", {}, "Articles"),
      articleTable(story),
      whyList(story),
      h("h3", {}, "Figures"),
      figureTable(story.values, story.names),
      ...story.series.map((series) => seriesFigure(series, mine)),
    );
  }
}
