// Watches: an analyst writes a rule, sees its problems as they type, backtests it on the
// articles of the last days, saves it to their own pack, and sends its alerts to their own
// receiver. The server checks everything again; the receiver's address is never shown back.
// An admin may open another person's watches here (openFor): they are saved to that
// person's pack, and the audit trail names the admin.

import { h, highlight, plural, postJSON, safeUrl, timeEl } from "./dom.js";

const FIELDS = ["name", "title", "category", "severity", "query", "entities_any",
  "entities_all", "entities_none", "where"];
const LISTS = new Set(["entities_any", "entities_all", "entities_none"]);

function problemItem(problem) {
  return h("li", {},
    h("strong", {}, problem.field), ": ", problem.message,
    problem.caret ? h("pre", { class: "caret" }, problem.caret) : null);
}

function hitCard(hit) {
  const link = safeUrl(hit.url);
  const ranges = hit.snippet_highlights || [];
  return h("li", { class: "alert-card" },
    h("h4", {}, link ? h("a", { href: link, rel: "noopener noreferrer" }, hit.title) : hit.title),
    h("p", { class: "muted" }, hit.source, " · ", timeEl(hit.published_at)),
    h("p", { class: "snippet" }, highlight(hit.snippet, ranges)));
}

/** The watches panel. */
export class Watches {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("#watch-form");
    this.checkOut = root.querySelector("#watch-check");
    this.result = root.querySelector("#watch-result");
    this.message = root.querySelector("#watch-message");
    this.list = root.querySelector("#watch-list");
    this.receiverForm = root.querySelector("#receiver-form");
    this.receiverState = root.querySelector("#receiver-state");
    this.denied = root.querySelector("#watch-denied");
    this.ownerNote = root.querySelector("#watch-owner");
    this.owner = null;
    this.mayWrite = false;
    this.typing = null;
    this.form.addEventListener("input", () => this.checkSoon());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.form.querySelector("#watch-backtest").addEventListener("click", () => this.backtest());
    this.receiverForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.setReceiver();
    });
    this.receiverForm.addEventListener("change", () => this.receiverKind());
  }

  /** Offer the panel to analysts and admins only (the server checks again). */
  allow(session) {
    const may = Boolean(session.may?.write_watches);
    this.mayWrite = may;
    this.form.hidden = !may;
    this.receiverForm.hidden = !may;
    this.denied.hidden = may;
    if (may) this.load();
  }

  /** The API address for the watches being edited (another person's: ?owner=). */
  url(path) {
    return this.owner ? `${path}?owner=${encodeURIComponent(this.owner)}` : path;
  }

  /** Admins: edit ``owner``'s watches (saved to their pack); back to one's own with mine(). */
  openFor(owner) {
    this.owner = owner;
    this.receiverForm.hidden = true;
    this.ownerNote.replaceChildren(`Editing ${owner}'s watches: saved to ${owner}/watches, `
      + "with you as the publisher. ",
    h("button", { type: "button", class: "secondary", onclick: () => this.mine() }, "Back to my watches"));
    this.ownerNote.hidden = false;
    this.form.reset();
    this.checkOut.replaceChildren();
    this.message.textContent = "";
    this.load();
    this.root.scrollIntoView({ block: "start" });
  }

  mine() {
    this.owner = null;
    this.ownerNote.hidden = true;
    this.receiverForm.hidden = !this.mayWrite;
    this.form.reset();
    this.checkOut.replaceChildren();
    this.load();
  }

  draft() {
    const data = {};
    for (const name of FIELDS) {
      const value = this.form.elements[name].value.trim();
      data[name] = LISTS.has(name) ? value.split(",").map((v) => v.trim()).filter(Boolean) : value;
    }
    return data;
  }

  checkSoon() {
    clearTimeout(this.typing);
    this.typing = setTimeout(() => this.check(), 300);
  }

  async check() {
    const draft = this.draft();
    if (!draft.name || !draft.query) {
      this.checkOut.replaceChildren(h("p", { class: "muted" }, "Give the watch a name and a query."));
      return null;
    }
    const { ok, data } = await postJSON(this.url("/api/watches/check"), draft);
    this.showProblems(ok ? data : { ok: false, problems: data.problems || [{ field: "watch", message: data.error }] });
    return ok && data.ok;
  }

  showProblems(data) {
    const parts = [];
    if (data.ok) parts.push(h("p", { class: "ok" }, "Valid: ", h("code", {}, data.id)));
    if (data.problems?.length) {
      parts.push(h("ul", { class: "problems error", role: "alert" }, data.problems.map(problemItem)));
    }
    for (const warning of data.warnings || []) parts.push(h("p", { class: "muted" }, `Note: ${warning}`));
    this.checkOut.replaceChildren(...parts);
  }

  async backtest() {
    const button = this.form.querySelector("#watch-backtest");
    button.disabled = true;
    this.result.setAttribute("aria-busy", "true");
    this.result.replaceChildren(h("p", { class: "muted" }, "Reading the articles…"));
    try {
      const days = Number(this.form.elements.days.value) || 7;
      const { ok, data } = await postJSON("/api/watches/backtest", { watch: this.draft(), days });
      if (!ok) {
        if (data.problems) this.showProblems({ ok: false, problems: data.problems });
        this.result.replaceChildren(h("p", { class: "error", role: "alert" }, data.error));
        return;
      }
      const parts = [h("p", { class: "summary" },
        `Would have fired ${plural(data.fired, "time")} on ${plural(data.articles, "article")} `
          + `of the last ${plural(data.days, "day")}`,
        data.fired > data.hits.length ? ` (the first ${data.hits.length} are shown)` : "",
        data.stopped ? ` (stopped early: ${data.stopped})` : "", ".")];
      if (data.hits.length) parts.push(h("ol", { class: "alerts results" }, data.hits.map(hitCard)));
      this.result.replaceChildren(...parts);
    } catch (err) {
      this.result.replaceChildren(h("p", { class: "error" }, `The dashboard did not answer: ${err.message}`));
    } finally {
      button.disabled = false;
      this.result.setAttribute("aria-busy", "false");
    }
  }

  async save() {
    this.message.textContent = "";
    if (!(await this.check())) {
      this.message.textContent = "Fix the problems above first.";
      return;
    }
    const { ok, data } = await postJSON(this.url("/api/watches"), this.draft());
    const whose = this.owner ? `${this.owner}'s` : "your";
    this.message.textContent = ok
      ? `Saved: ${whose} watches are published (version ${data.version}).`
      : data.error;
    if (ok) this.load();
  }

  async remove(watch) {
    const { ok, data } = await postJSON(this.url(`/api/watches/${encodeURIComponent(watch.name)}/delete`), {});
    this.message.textContent = ok ? `Deleted ${watch.id}.` : data.error;
    if (ok) this.load();
  }

  edit(watch) {
    for (const name of FIELDS) {
      const value = watch[name];
      this.form.elements[name].value = Array.isArray(value) ? value.join(", ") : (value ?? "");
    }
    this.check();
    this.form.scrollIntoView({ block: "start" });
  }

  async load() {
    const response = await fetch(this.url("/api/watches"), { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    this.form.elements.days.max = data.max_days;
    this.list.replaceChildren(...(data.watches.length ? data.watches.map((w) => h("li", {},
      h("code", {}, w.id), " ", w.title, " ",
      h("button", { type: "button", class: "secondary", onclick: () => this.edit(w) }, "Edit"), " ",
      h("button", { type: "button", class: "secondary", onclick: () => this.remove(w) }, "Delete")))
      : [h("li", { class: "muted" }, "No watch yet.")]));
    this.receiverForm.querySelector("[value=email]").disabled = !data.email;
    this.receiverState.replaceChildren(data.receiver
      ? h("span", {}, `Your ${data.receiver.kind} receiver is set (`, timeEl(data.receiver.updated_at),
        "); it is not shown again. Set it anew to change it.")
      : h("span", { class: "muted" }, "No receiver: your watches' alerts go where the routes file sends them."));
    this.receiverKind();
  }

  receiverKind() {
    const kind = this.receiverForm.elements.kind.value;
    this.receiverForm.querySelector("#receiver-address-field").hidden = kind !== "email";
    this.receiverForm.querySelector("#receiver-url-field").hidden = kind !== "slack";
  }

  async setReceiver() {
    const kind = this.receiverForm.elements.kind.value;
    const body = { kind };
    if (kind === "email") body.address = this.receiverForm.elements.address.value.trim();
    else body.url = this.receiverForm.elements.url.value.trim();
    const { ok, data } = await postJSON("/api/watches/receiver", body);
    this.receiverForm.elements.address.value = "";
    this.receiverForm.elements.url.value = "";
    this.message.textContent = ok ? `Your ${kind} receiver is set.` : data.error;
    if (ok) this.load();
  }
}
