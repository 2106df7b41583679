// The UI's shell: who is logged in (GET /v1/whoami), the hash router
// (#/login, #/runs, #/runs/ID, #/workflows) and the page lifecycle: each page returns a
// stop function that ends its timers and streams when the page changes.
import { api, setUnauthorizedHandler } from "./api.js";
import { loginPage } from "./login.js";
import { runsPage } from "./runs.js";
import { runPage } from "./run.js";
import { workflowsPage } from "./workflows.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const logout = document.getElementById("logout");
let stopPage = null;
export const session = { name: null, role: null };

const canWrite = () => session.role === "write" || session.role === "admin";

async function whoami() {
  const w = await api("GET", "/v1/whoami");
  session.name = w.name;
  session.role = w.role;
  who.textContent = w.role ? `${w.name || "open mode"} (${w.role})` : "";
  logout.hidden = !w.role || w.via !== "cookie";
  return w;
}

async function route() {
  if (stopPage) stopPage();
  stopPage = null;
  const hash = location.hash || "#/runs";
  if (!session.role && hash !== "#/login") {
    try {
      await whoami();
    } catch {
      /* shown as the login page below */
    }
    if (!session.role) {
      location.hash = "#/login";
      return;
    }
  }
  const ctx = { main, canWrite: canWrite(), session, onLogin };
  let m;
  if (hash === "#/login") stopPage = loginPage(ctx);
  else if ((m = /^#\/runs\/([^/]+)$/.exec(hash))) stopPage = runPage(ctx, decodeURIComponent(m[1]));
  else if (hash === "#/workflows") stopPage = workflowsPage(ctx);
  else stopPage = runsPage(ctx);
  document.title = `orch: ${hash.slice(2) || "runs"}`;
}

async function onLogin() {
  await whoami();
  location.hash = "#/runs";
}

setUnauthorizedHandler(() => {
  session.role = null;
  who.textContent = "";
  logout.hidden = true;
  if (location.hash !== "#/login") location.hash = "#/login";
});

logout.addEventListener("click", async () => {
  // The page's polls and streams end first: none may start after the
  // cookie is gone (it would be a 401).
  if (stopPage) stopPage();
  stopPage = null;
  try {
    await api("DELETE", "/v1/session");
  } finally {
    session.role = null;
    session.name = null;
    who.textContent = "";
    logout.hidden = true;
    location.hash = "#/login";
  }
});

window.addEventListener("hashchange", route);
route();
