// Silences: create one from the form (or from an alert's card), list them, expire them.
// Both go to the silences topic through the server; every notifier honours them.

import { h, postJSON, timeEl } from "./dom.js";

const LABELS = ["rule_id", "category", "severity", "entity", "tag", "story_id", "receiver"];
const OPERATORS = [["=", "is"], ["!=", "is not"], ["=~", "matches regex"]];
let rowNumber = 0;

function matcherRow(matcher = { name: "rule_id", op: "=", value: "" }, removable = true) {
  rowNumber += 1;
  const n = rowNumber;
  const row = h("div", { class: "matcher" },
    h("div", { class: "field" },
      h("label", { for: `m-name-${n}` }, "Label"),
      h("select", { id: `m-name-${n}`, name: "name" },
        LABELS.map((label) => h("option", { value: label, selected: label === matcher.name }, label)))),
    h("div", { class: "field" },
      h("label", { for: `m-op-${n}` }, "Condition"),
      h("select", { id: `m-op-${n}`, name: "op" },
        OPERATORS.map(([op, text]) => h("option", { value: op, selected: op === matcher.op }, text)))),
    h("div", { class: "field grow" },
      h("label", { for: `m-value-${n}` }, "Value"),
      h("input", { id: `m-value-${n}`, name: "value", value: matcher.value, required: true, maxlength: 500 })));
  if (removable) {
    row.append(h("button", {
      type: "button", class: "secondary remove", "aria-label": "Remove this condition",
      onclick: () => { row.remove(); },
    }, "Remove"));
  }
  return row;
}

function describe(silence) {
  return silence.matchers.map((m) => `${m.name}${m.op}${m.value}`).join(" and ");
}

/** The silence form and list. */
export class Silences {
  constructor(root) {
    this.form = root.querySelector("#silence-form");
    this.rows = root.querySelector("#matchers");
    this.list = root.querySelector("#silence-list");
    this.message = root.querySelector("#silence-message");
    this.error = root.querySelector("#silence-error");
    this.seen = "";
    this.session = null;
    this.rows.append(matcherRow(undefined, false));
    root.querySelector("#add-matcher").addEventListener("click", () => {
      const row = matcherRow();
      this.rows.append(row);
      row.querySelector("select").focus();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  /** Offer only what the signed-in role may do (the server checks again). */
  allow(session) {
    this.session = session;
    this.form.hidden = !session.may?.add_silence;
    this.seen = "";
    if (this.silences) this.render(this.silences);
  }

  mayExpire(silence) {
    const may = this.session?.may;
    return Boolean(may && (may.expire_any_silence
      || (may.add_silence && silence.created_by === this.session.user)));
  }

  /** Fill the form to silence an alert's rule, and take the reader there. */
  prefill(alert) {
    if (this.form.hidden) return;
    this.rows.replaceChildren(matcherRow({ name: "rule_id", op: "=", value: alert.rule_id }, false));
    this.message.textContent = "";
    this.error.textContent = "";
    this.form.scrollIntoView({ block: "start" });
    this.form.querySelector("#silence-comment").focus();
  }

  async create() {
    this.message.textContent = "";
    this.error.textContent = "";
    const matchers = [...this.rows.querySelectorAll(".matcher")].map((row) => ({
      name: row.querySelector("[name=name]").value,
      op: row.querySelector("[name=op]").value,
      value: row.querySelector("[name=value]").value.trim(),
    }));
    const body = {
      matchers,
      duration: this.form.elements.duration.value.trim(),
      comment: this.form.elements.comment.value.trim(),
    };
    const missing = [];
    if (matchers.some((m) => !m.value)) missing.push("a value for each condition");
    if (!body.duration) missing.push("how long");
    if (!body.comment) missing.push("why");
    if (missing.length) {
      this.error.textContent = `Please give ${missing.join(", ")}.`;
      return;
    }
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { ok, data } = await postJSON("/api/silences", body);
      if (ok) {
        this.message.textContent = `Silence ${data.id} created: ${describe(data)}, until `
          + `${new Date(data.ends_at).toLocaleString()}.`;
        this.form.elements.comment.value = "";
      } else {
        this.error.textContent = data.error;
      }
    } catch (err) {
      this.error.textContent = `The dashboard did not answer: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async expire(silence, button) {
    button.disabled = true;
    this.message.textContent = "";
    this.error.textContent = "";
    try {
      const { ok, data } = await postJSON(`/api/silences/${encodeURIComponent(silence.id)}/expire`, {});
      if (ok) {
        this.message.textContent = `Silence ${silence.id} expired.`;
        return;
      }
      this.error.textContent = data.error;
    } catch (err) {
      this.error.textContent = `The dashboard did not answer: ${err.message}`;
    }
    button.disabled = false;
  }

  render(silences) {
    this.silences = silences;
    const json = JSON.stringify(silences);
    if (json === this.seen) return;
    this.seen = json;
    const live = silences.filter((x) => x.state !== "expired");
    const ended = silences.filter((x) => x.state === "expired");
    const item = (silence) => h("li", { class: `silence ${silence.state}`, "data-id": silence.id },
      h("p", {}, h("span", { class: `badge state-${silence.state}` }, silence.state), " ",
        h("code", {}, describe(silence))),
      h("p", { class: "muted" },
        silence.state === "expired" ? "ended " : "until ", timeEl(silence.ends_at),
        ` · by ${silence.created_by} · `, h("span", { class: "comment" }, silence.comment)),
      silence.state !== "expired" && this.mayExpire(silence)
        ? h("button", {
          type: "button", class: "secondary",
          onclick: (event) => this.expire(silence, event.currentTarget),
        }, "Expire now", h("span", { class: "visually-hidden" }, ` (${describe(silence)})`))
        : null);
    const children = live.length
      ? live.map(item)
      : [h("li", { class: "muted" }, "No active silence: every alert is delivered.")];
    if (ended.length) {
      children.push(h("li", {}, h("details", {},
        h("summary", {}, `${ended.length} expired`),
        h("ul", {}, ended.slice(0, 50).map(item)))));
    }
    this.list.replaceChildren(...children);
  }
}
