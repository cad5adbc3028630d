// Who is signed in, shown in the masthead, and what the page offers them.
// The server decides every permission again: this only hides what would be refused.

import { h, postJSON } from "./dom.js";

/** Fetch /api/session: {mode, host, user, role, via, may}. */
export async function loadSession() {
  const response = await fetch("/api/session", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`the dashboard answered ${response.status}`);
  return response.json();
}

/** Go to the sign-in page if this visitor's session has ended (an account disabled meanwhile). */
export async function requireSession() {
  try {
    const session = await loadSession();
    if (!session.user) location.assign("/signin");
  } catch {
    // The dashboard is unreachable: the event stream keeps retrying by itself.
  }
}

async function signOut() {
  await postJSON("/api/signout", {});
  location.assign("/signin");
}

/** Render the user bar and, on a dashboard without accounts, the notice saying so. */
export function renderSession(session, bar, notice) {
  document.body.dataset.role = session.role || "";
  if (session.mode === "open") {
    notice.hidden = false;
    notice.textContent = `No accounts: this dashboard serves ${session.host} only, and everyone `
      + "who can open it may change silences. Add one with `wirewatch users add NAME --role admin` "
      + "to require sign-in.";
    bar.replaceChildren(h("span", { class: "who" }, "local (no sign-in)"));
    return;
  }
  const children = [
    h("span", { class: "who" }, "Signed in as ", h("strong", {}, session.user), " ",
      h("span", { class: "badge role" }, session.role)),
  ];
  if (session.via === "password") {
    children.push(h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"));
  }
  bar.replaceChildren(...children);
}
