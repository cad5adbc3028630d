// The sign-in form: posts the name and password as JSON (with the CSRF token of the
// visitor's session, like every write) and goes to the dashboard on success.

import { postJSON } from "./dom.js";

const form = document.getElementById("signin-form");
const error = document.getElementById("signin-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { ok, data } = await postJSON("/api/signin", {
      user: form.elements.user.value.trim(),
      password: form.elements.password.value,
    });
    if (ok) {
      location.assign("/");
      return;
    }
    error.textContent = data.error;
    form.elements.password.value = "";
    form.elements.password.focus();
  } catch (err) {
    error.textContent = `The dashboard did not answer: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});
