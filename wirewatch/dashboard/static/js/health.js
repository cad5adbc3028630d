// Rule health: the rule-set facts, detections per hour, hits per rule, dead letters.

import { barChart, sparkline } from "./charts.js";
import { h, plural, timeEl } from "./dom.js";

const hourLabel = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function facts(status) {
  const rules = status.ruleset;
  const pending = Object.entries(status.caught_up).filter(([, done]) => !done).map(([t]) => t);
  const rows = [
    ["Rule set", rules.version ? h("code", {}, rules.version) : "not loaded yet"],
    ["Rules", `${rules.enabled} enabled of ${rules.rules}`],
    ["Installed", rules.installed_at ? timeEl(rules.installed_at) : "–"],
    ["From", packsInForce(rules)],
    ["History", pending.length ? `reading ${pending.join(", ")}…` : "read; following live"],
  ];
  if ((rules.failing || []).length) {
    rows.push(["Failing packs", failingPacks(rules.failing)]);
  }
  const unreadable = Object.entries(status.unreadable);
  if (unreadable.length) {
    rows.push(["Unreadable records", unreadable.map(([t, n]) => `${t}: ${n}`).join(", ")]);
  }
  return rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
}

function packsInForce(rules) {
  if (rules.source !== "topic") return rules.source === "files" ? "the pack files (no pack is published)" : "–";
  return h("details", { class: "packs" },
    h("summary", {}, plural(rules.packs.length, "published pack")),
    h("ul", {}, rules.packs.map((pack) => h("li", {},
      h("code", {}, pack.pack), " ", h("span", { class: "muted" },
        `${pack.version} · ${plural(pack.rules, "rule")} · by ${pack.published_by}`)))));
}

function failingPacks(failing) {
  return h("ul", { class: "failing-packs" }, failing.map((f) => h("li", {},
    h("code", {}, f.pack), " ", h("span", { class: "muted" }, `version ${f.version} not in force: `),
    h("span", { class: "error-text" }, f.error))));
}

function hitsChart(hits) {
  const labels = hits.hours.map((iso) => hourLabel.format(new Date(iso)));
  const total = hits.totals.reduce((a, b) => a + b, 0);
  return barChart({
    values: hits.totals,
    labels,
    titles: hits.totals.map((n, i) => `${labels[i]}: ${plural(n, "detection")}`),
    summary: `Detections per hour over the last ${hits.hours.length} hours: ${total} in all.`,
  });
}

function ruleRows(hits) {
  if (!hits.rules.length) {
    return [h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No rules loaded yet."))];
  }
  return hits.rules.map((rule) => h("tr", { class: rule.enabled ? "" : "disabled" },
    h("th", { scope: "row" },
      h("span", { class: "rule-title" }, rule.title || rule.rule_id),
      h("code", {}, rule.rule_id),
      !rule.in_rule_set ? h("span", { class: "badge" }, "not in the set") : null,
      rule.in_rule_set && !rule.enabled ? h("span", { class: "badge" }, "disabled") : null),
    h("td", { class: "num" }, String(rule.total)),
    h("td", {}, sparkline(rule.counts, `${rule.rule_id} per hour, oldest first: ${rule.counts.join(", ")}`)),
    h("td", {}, rule.last_hit ? timeEl(rule.last_hit) : h("span", { class: "muted" }, "none"))));
}

function deadLetters(view, open) {
  if (!view.total) return [h("p", { class: "muted" }, "None in the window: every record was processed.")];
  const counts = h("table", { class: "compact" },
    h("caption", {}, `${plural(view.total, "dead letter")} by reason`),
    h("thead", {}, h("tr", {},
      ["Topic", "Stage", "Reason", "Count"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, view.counts.map((row) => h("tr", {},
      h("td", {}, row.topic), h("td", {}, row.stage), h("td", {}, row.reason),
      h("td", { class: "num" }, String(row.count))))));
  const recent = h("ul", { class: "letters", "aria-label": "Latest dead letters" },
    view.recent.map((letter) => {
      const id = `${letter.topic}/${letter.origin}`;
      const details = h("details", { open: open.has(id), ontoggle: (e) => {
        if (e.target.open) open.add(id); else open.delete(id);
      } },
      h("summary", {}, timeEl(letter.failed_at), " ", h("strong", {}, letter.reason), " ",
        h("span", { class: "muted" }, `${letter.stage} · ${letter.origin}`)),
      h("p", { class: "error-text" }, letter.error),
      letter.payload ? h("pre", { tabindex: 0 }, letter.payload) : null);
      return h("li", {}, details);
    }));
  return [h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Dead letters by reason" }, counts), recent];
}

/** Renders the health section; each part is redrawn only when its data changed. */
export class Health {
  constructor(root) {
    this.facts = root.querySelector("#health-facts");
    this.chart = root.querySelector("#hits-chart");
    this.caption = root.querySelector("#hits-caption");
    this.rules = root.querySelector("#rules-table tbody");
    this.dead = root.querySelector("#dead-letters");
    this.version = document.getElementById("ruleset-version");
    this.seen = {};
    this.open = new Set();
  }

  changed(part, data) {
    const json = JSON.stringify(data);
    if (this.seen[part] === json) return false;
    this.seen[part] = json;
    return true;
  }

  render(status) {
    this.version.textContent = status.ruleset.version || "not loaded";
    if (this.changed("facts", [status.ruleset, status.caught_up, status.unreadable])) {
      this.facts.replaceChildren(...facts(status));
    }
    if (this.changed("hits", status.hits)) {
      this.caption.textContent = `Detections per hour, last ${status.hits.hours.length} hours`;
      this.chart.replaceChildren(hitsChart(status.hits));
      this.rules.replaceChildren(...ruleRows(status.hits));
    }
    if (this.changed("dead", status.dead_letters)) {
      this.dead.replaceChildren(...deadLetters(status.dead_letters, this.open));
    }
  }
}
