// The login page: the token goes once to POST /v1/session, which answers
// with an HttpOnly cookie; the field is cleared and the token is kept
// nowhere in the page (no storage, no URL).
import { api } from "./api.js";
import { h, clear } from "./dom.js";

export function loginPage(ctx) {
  clear(ctx.main);
  const input = h("input", { id: "token", type: "password", name: "token", autocomplete: "off", required: true });
  const msg = h("p", { id: "login-error", class: "error", role: "alert" });
  const form = h("form", { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to orch"),
    h("label", { for: "token" }, "API token"), input,
    h("button", { type: "submit", id: "login-submit" }, "Log in"), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const token = input.value;
    input.value = "";
    try {
      await api("POST", "/v1/session", { token });
      await ctx.onLogin();
    } catch (err) {
      msg.textContent = err.status === 401 ? "That token is not valid." : `Login failed: ${err.message}`;
      input.focus();
    }
  });
  ctx.main.append(form);
  input.focus();
  return () => {};
}
