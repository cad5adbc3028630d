// The alert feed: one card per story, newest update first; a snapshot on (re)connect,
// then each story that gets an alert replaces its card and moves to its place.

import { figure, h, highlight, plural, safeUrl, teaserNote, timeEl } from "./dom.js";

const MAX_SHOWN = 200;
let cardNumber = 0;

const stories = (count) => `${count} ${count === 1 ? "story" : "stories"}`;

function link(url, text) {
  const safe = safeUrl(url);
  return safe ? h("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, text) : text;
}

const short = (id) => (id || "").split(":").pop();

function changeNote(change) {
  const unit = [change.currency, change.unit].filter(Boolean).join("/");
  const subject = `${short(change.commodity)}${change.benchmark ? ` vs ${short(change.benchmark)}` : ""}`
    + ` ${change.level}`;
  const was = change.reference
    ? [", was ", `${change.reference.value} ${unit}`, " (", link(change.reference.url, change.reference.source),
      " ", timeEl(change.reference.at), ")"]
    : [];
  const move = change.delta === null || change.delta === undefined ? ""
    : `: ${change.delta > 0 ? "+" : ""}${change.delta.toFixed(2)} ${unit}`
      + (change.change_pct === null || change.change_pct === undefined ? ""
        : ` (${change.change_pct > 0 ? "+" : ""}${change.change_pct.toFixed(1)} %)`);
  return h("p", { class: "change" }, "Change: ", subject, " ",
    h("strong", {}, `${change.current.value} ${unit}`), " (", change.current.source, " ",
    timeEl(change.current.at), ")", was, move);
}

function spikeNote(spike) {
  const usual = spike.reference === "week" ? "this hour of the week" : "this hour of day";
  return h("div", { class: "spike" },
    h("p", {}, "Spike: ", h("strong", {}, plural(spike.current, "article")),
      ` in the last ${Math.round(spike.window_s / 60)} minutes on ${spike.key}, usually `
      + `${spike.baseline} at ${usual}: ×${spike.ratio}, ${plural(spike.sources, "source")}`),
    h("ol", { class: "top-stories", "aria-label": "Top stories of the spike" },
      spike.top_stories.map((s) => h("li", {}, link(s.url, s.title),
        ` (${plural(s.articles, "article")}, ${plural(s.sources, "source")})`))));
}

function ruleRow(row, onSilence) {
  return h("li", { class: "rule" },
    h("span", { class: "rule-title" }, row.rule_title), " ", h("code", {}, row.rule_id), " ",
    h("span", { class: "rule-category" }, row.category.replaceAll("_", " ")), " ",
    row.update ? h("span", { class: "badge update" }, "update") : null, " ",
    timeEl(row.created_at), " ",
    h("button", { type: "button", class: "secondary small", onclick: () => onSilence(row) },
      "Silence", h("span", { class: "visually-hidden" }, ` rule ${row.rule_id}`)),
    row.change ? changeNote(row.change) : null,
    row.spike ? spikeNote(row.spike) : null);
}

function sourceList(story) {
  return h("ol", { class: "sources", "aria-label": "Sources over time" },
    story.sources.slice(0, 12).map((evidence) => h("li", {},
      timeEl(evidence.published_at), " ", link(evidence.url, evidence.source), ": ", evidence.title,
      teaserNote(evidence) ? [" · ", teaserNote(evidence)] : null)));
}

function figures(story) {
  const shown = story.values.filter((v) => v.value !== null && v.value !== undefined).slice(0, 4);
  if (!shown.length) return null;
  return h("p", { class: "figures" }, "Figures: ",
    shown.map((v, i) => [i ? ", " : "", h("span", { class: "figure", title: v.span.text },
      `${v.kind.replace("_", " ")} ${figure(v)}`)]));
}

/** The card of one story: every rule and category that fired on it, its sources over time. */
export function storyCard(story, { onStory, onSilence }) {
  cardNumber += 1;
  const id = `story-${cardNumber}`;
  const severity = story.severity;
  return h("li", { class: `alert story sev-${severity}`, "data-story": story.story_id },
    h("article", { "aria-labelledby": id },
      h("div", { class: "alert-meta" },
        h("span", { class: `badge sev sev-${severity}` }, severity),
        story.categories.map((c) => h("span", { class: "badge category" }, c.replaceAll("_", " "))),
        story.updates ? h("span", { class: "badge update" }, plural(story.updates, "update")) : null,
        timeEl(story.updated_at)),
      h("h3", { id }, story.headline),
      h("ul", { class: "rules", "aria-label": "Rules that fired" },
        story.alerts.map((row) => ruleRow(row, onSilence))),
      story.snippet
        ? h("blockquote", { class: "snippet" }, highlight(story.snippet, story.snippet_highlights))
        : null,
      h("p", { class: "corroboration" },
        `${plural(story.article_count, "article")} from ${plural(story.source_count, "source")}`),
      sourceList(story),
      story.entities.length
        ? h("ul", { class: "entities", "aria-label": "Entities" },
          story.entities.slice(0, 8).map((e) => h("li", { title: e.id }, e.name)))
        : null,
      figures(story),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => onStory(story) },
          "Story", h("span", { class: "visually-hidden" }, `: ${story.headline}`)))));
}

/** The feed list: at most MAX_SHOWN story cards, latest update first, each story once. */
export class Feed {
  constructor(list, counter, actions) {
    this.list = list;
    this.counter = counter;
    this.actions = actions;
    this.entries = [];
    this.matching = 0;
    this.total = 0;
  }

  snapshot({ stories, matching, total }) {
    this.list.setAttribute("aria-busy", "true");
    this.entries = stories.map((story) => this.entry(story));
    this.list.replaceChildren(...this.entries.map((e) => e.el));
    this.matching = matching;
    this.total = total;
    this.list.setAttribute("aria-busy", "false");
    this.count();
  }

  /** A story got an alert: its card is replaced and moves to its place, or it is new. */
  update(story) {
    const old = this.entries.findIndex((e) => e.id === story.story_id);
    if (old >= 0) {
      this.entries[old].el.remove();
      this.entries.splice(old, 1);
    } else {
      this.matching += 1;
      this.total += 1;
    }
    const entry = this.entry(story);
    let index = this.entries.findIndex((e) => e.at < entry.at);
    if (index < 0) index = this.entries.length;
    if (index < MAX_SHOWN) {
      const before = this.entries[index];
      this.entries.splice(index, 0, entry);
      this.list.insertBefore(entry.el, before ? before.el : null);
      while (this.entries.length > MAX_SHOWN) this.entries.pop().el.remove();
    }
    this.count();
  }

  entry(story) {
    return {
      id: story.story_id,
      at: Date.parse(story.updated_at),
      el: storyCard(story, this.actions),
    };
  }

  count() {
    const shown = this.entries.length;
    if (!this.total) {
      this.counter.textContent = "No alerts yet: they appear here as the workers raise them.";
    } else if (!this.matching) {
      this.counter.textContent = `No story matches the filters (${stories(this.total)} in memory).`;
    } else {
      this.counter.textContent = `Showing ${shown} of ${this.matching} matching`
        + ` ${this.matching === 1 ? "story" : "stories"} (${this.total} in memory), latest update first.`;
    }
  }
}
