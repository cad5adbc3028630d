// The page's wiring. One way: the server's event stream -> the panels. The filters
// are part of the stream's address: changing one reconnects with a new snapshot,
// so what a filter lets through is decided in one place, on the server.

import { Admin } from "./admin.js";
import { Audit } from "./audit.js";
import { h } from "./dom.js";
import { Feed } from "./feed.js";
import { Health } from "./health.js";
import { Playground } from "./playground.js";
import { loadSession, renderSession, requireSession } from "./session.js";
import { Silences } from "./silences.js";
import { Sources } from "./sources.js";
import { StoryView } from "./story.js";
import { Watches } from "./watches.js";

const FILTERS = ["category", "severity", "entity", "q"];

const connection = document.getElementById("connection");
const filters = document.getElementById("filters");
const health = new Health(document.getElementById("health"));
const silences = new Silences(document.getElementById("silences"));
const sources = new Sources(document.getElementById("sources"));
const story = new StoryView(document.getElementById("story"));
const audit = new Audit(document.getElementById("audit"));
new Playground(document.getElementById("playground"));
const watches = new Watches(document.getElementById("watches"));
const admin = new Admin(document.getElementById("admin"), watches);
const feed = new Feed(document.getElementById("alerts"), document.getElementById("feed-count"), {
  onStory: (card) => story.open(card),
  onSilence: (rule) => silences.prefill(rule),
});

let source = null;

function setConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

function filterParams() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = filters.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function connect() {
  if (source) source.close();
  const params = filterParams();
  source = new EventSource(`/api/stream?${params}`);
  source.addEventListener("open", () => setConnection("live", "Live"));
  source.addEventListener("error", () => {
    setConnection("down", "Reconnecting…");
    requireSession();
  });
  source.addEventListener("feed", (event) => feed.snapshot(JSON.parse(event.data)));
  source.addEventListener("story", (event) => feed.update(JSON.parse(event.data)));
  source.addEventListener("status", (event) => render(JSON.parse(event.data)));
}

function keepOptions(select, values, label) {
  const current = select.value;
  const wanted = [...new Set([...values, current].filter(Boolean))].sort();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (JSON.stringify(have) === JSON.stringify(wanted)) return;
  select.replaceChildren(select.options[0],
    ...wanted.map((v) => h("option", { value: v }, label(v))));
  select.value = current;
}

function render(status) {
  health.render(status);
  silences.render(status.silences);
  sources.render(status.sources);
  audit.refresh(status.audit_version);
  feed.total = status.stories_total;
  feed.count();
  keepOptions(filters.elements.category, status.facets.categories, (c) => c.replaceAll("_", " "));
  document.getElementById("entity-choices").replaceChildren(
    ...status.facets.entities.map((e) => h("option", { value: e.name }, e.id)));
  if (!status.ready) setConnection("catching-up", "Live, reading history…");
  else if (connection.dataset.state !== "down") setConnection("live", "Live");
}

let typing = null;
function filtersChanged() {
  clearTimeout(typing);
  typing = setTimeout(() => {
    const params = filterParams().toString();
    history.replaceState(null, "", params ? `?${params}` : location.pathname);
    connect();
  }, 250);
}

const initial = new URLSearchParams(location.search);
for (const name of FILTERS) {
  const value = initial.get(name);
  if (!value) continue;
  const field = filters.elements[name];
  if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) {
    field.append(h("option", { value }, value));
  }
  field.value = value;
}
filters.addEventListener("input", filtersChanged);
filters.addEventListener("change", filtersChanged);
filters.addEventListener("reset", () => setTimeout(filtersChanged));
filters.addEventListener("submit", (event) => event.preventDefault());
loadSession().then((session) => {
  renderSession(session, document.getElementById("session"), document.getElementById("open-mode"));
  silences.allow(session);
  watches.allow(session);
  admin.allow(session);
}).catch((err) => setConnection("down", `Session unknown: ${err.message}`));
connect();
