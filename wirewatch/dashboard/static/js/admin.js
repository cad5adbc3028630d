// The Admin panel (admins only; the server refuses everyone else): accounts, everyone's
// rule packs, and the route tree. Passwords typed here are sent once and cleared from the
// form; nothing the server sends back contains one, nor any receiver's URL.

import { h, postJSON, timeEl } from "./dom.js";

const ROLES = ["viewer", "analyst", "admin"];

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  return { ok: response.ok, data };
}

/** The Admin panel. */
export class Admin {
  constructor(root, watches) {
    this.root = root;
    this.watches = watches;
    this.me = null;
    this.users = root.querySelector("#users-table tbody");
    this.userForm = root.querySelector("#user-form");
    this.usersMessage = root.querySelector("#users-message");
    this.packs = root.querySelector("#packs-table tbody");
    this.packsMessage = root.querySelector("#packs-message");
    this.routesForm = root.querySelector("#routes-form");
    this.routesError = root.querySelector("#routes-error");
    this.routesMessage = root.querySelector("#routes-message");
    this.userForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addUser();
    });
    this.userForm.elements.sso.addEventListener("change", () => {
      root.querySelector("#user-passwords").hidden = this.userForm.elements.sso.checked;
    });
    this.routesForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.publishRoutes();
    });
  }

  /** Show the panel (and its link) to admins only, and load it. */
  allow(session) {
    const may = Boolean(session.may?.admin);
    this.root.hidden = !may;
    document.getElementById("admin-link").hidden = !may;
    if (!may) return;
    this.me = session.user;
    this.loadUsers();
    this.loadPacks();
    this.loadRoutes();
  }

  say(where, ok, text) {
    where.className = ok ? "message" : "error";
    where.textContent = text;
  }

  // --- users -------------------------------------------------------------------

  async loadUsers() {
    const { ok, data } = await getJSON("/api/admin/users");
    if (!ok) return this.say(this.usersMessage, false, data.error);
    this.users.replaceChildren(...data.users.map((user) => this.userRow(user)));
  }

  userRow(user) {
    const self = user.id === this.me;
    const role = h("select", { "aria-label": `Role of ${user.id}`, disabled: self },
      ROLES.map((r) => h("option", { value: r, selected: r === user.role }, r)));
    role.addEventListener("change", () => this.change(user.id, "role", { role: role.value }));
    const enabled = user.state === "enabled";
    const actions = [
      h("button", { type: "button", class: "secondary", disabled: self,
        onclick: () => this.change(user.id, enabled ? "disable" : "enable", {}) },
      enabled ? "Disable" : "Enable"),
    ];
    if (user.sign_in === "password") {
      actions.push(h("button", { type: "button", class: "secondary",
        onclick: (event) => this.passwordForm(event.target, user.id) }, "Reset password"));
    }
    return h("tr", { "data-user": user.id },
      h("th", { scope: "row" }, h("code", {}, user.id)),
      h("td", {}, role),
      h("td", { class: "state" }, user.state),
      h("td", {}, user.sign_in),
      h("td", {}, timeEl(user.updated_at), " by ", user.updated_by),
      h("td", {}, h("div", { class: "actions" }, actions)));
  }

  async change(name, what, body) {
    const { ok, data } = await postJSON(`/api/admin/users/${encodeURIComponent(name)}/${what}`, body);
    this.say(this.usersMessage, ok, ok ? `${name}: ${what === "role" ? `now ${data.role}` : `${data.state}`}.` : data.error);
    this.loadUsers();
  }

  /** Two password fields under the row's button; cleared whatever the answer. */
  passwordForm(button, name) {
    const first = h("input", { type: "password", "aria-label": `New password for ${name}`,
      autocomplete: "new-password", maxlength: 1024 });
    const again = h("input", { type: "password", "aria-label": `Repeat the new password for ${name}`,
      autocomplete: "new-password", maxlength: 1024 });
    const form = h("form", { class: "row" }, first, again, h("button", { type: "submit" }, "Set password"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { password: first.value, password_again: again.value };
      first.value = "";
      again.value = "";
      const { ok, data } = await postJSON(`/api/admin/users/${encodeURIComponent(name)}/password`, body);
      this.say(this.usersMessage, ok, ok ? `${name}: password set; their sessions have ended.` : data.error);
      if (ok) form.remove();
    });
    button.replaceWith(form);
    first.focus();
  }

  async addUser() {
    const fields = this.userForm.elements;
    const body = { name: fields.name.value.trim(), role: fields.role.value, sso: fields.sso.checked };
    if (!body.sso) {
      body.password = fields.password.value;
      body.password_again = fields.password_again.value;
    }
    fields.password.value = "";
    fields.password_again.value = "";
    const { ok, data } = await postJSON("/api/admin/users", body);
    this.say(this.usersMessage, ok, ok ? `Added ${data.id} (${data.role}).` : data.error);
    if (ok) {
      fields.name.value = "";
      this.loadUsers();
    }
  }

  // --- rule packs --------------------------------------------------------------

  async loadPacks() {
    const { ok, data } = await getJSON("/api/admin/packs");
    if (!ok) return this.say(this.packsMessage, false, data.error);
    this.packs.replaceChildren(...(data.packs.length ? data.packs.map((pack) => this.packRow(pack))
      : [h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No pack is published: workers use the pack files."))]));
  }

  packRow(pack) {
    const actions = [];
    if (pack.watches) {
      actions.push(h("button", { type: "button", class: "secondary",
        onclick: () => this.watches.openFor(pack.owner) }, "Open watches"));
    }
    actions.push(h("button", { type: "button", class: "secondary",
      onclick: () => this.deletePack(pack) }, "Delete"));
    return h("tr", { "data-pack": pack.key },
      h("td", {}, pack.owner),
      h("th", { scope: "row" }, pack.name),
      h("td", {}, h("code", {}, pack.version.slice(0, 12))),
      h("td", {}, String(pack.rules)),
      h("td", {}, pack.published_by),
      h("td", {}, timeEl(pack.published_at)),
      h("td", {}, h("div", { class: "actions" }, actions)));
  }

  async deletePack(pack) {
    if (!window.confirm(`Delete the pack ${pack.key}? Its rules stop firing; its history stays.`)) return;
    const path = `/api/admin/packs/${encodeURIComponent(pack.owner)}/${encodeURIComponent(pack.name)}/delete`;
    const { ok, data } = await postJSON(path, {});
    this.say(this.packsMessage, ok, ok ? `Deleted ${pack.key}.` : data.error);
    this.loadPacks();
  }

  // --- routes ------------------------------------------------------------------

  async loadRoutes() {
    const { ok, data } = await getJSON("/api/admin/routes");
    if (!ok) return this.say(this.routesMessage, false, data.error);
    this.routesForm.elements.text.value = data.text;
    this.root.querySelector("#routes-source").replaceChildren(data.source === "topic"
      ? h("span", {}, `In force: version ${data.version} from the routes topic, published by ${data.published_by} `, timeEl(data.published_at), ".")
      : h("span", {}, `In force: the routes file ${data.path} (nothing is published on the routes topic).`));
    this.root.querySelector("#routes-receivers").textContent = data.receivers.length
      ? `Receivers with URLs: ${data.receivers.map((r) => `${r.name} (${r.urls})`).join(", ")}. Their URLs are never shown.`
      : "No receiver has URLs yet.";
  }

  async publishRoutes() {
    this.routesError.hidden = true;
    this.routesMessage.textContent = "";
    const { ok, data } = await postJSON("/api/admin/routes", { text: this.routesForm.elements.text.value });
    if (!ok) {
      this.routesError.textContent = data.error;
      this.routesError.hidden = false;
      return;
    }
    this.say(this.routesMessage, true, data.changed
      ? `Published routes ${data.version}: notifiers swap to them now.`
      : `Unchanged: the routes in force are ${data.version}.`);
    this.loadRoutes();
  }
}
