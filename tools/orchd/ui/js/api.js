// The one way the UI talks to orchd: same-origin fetch, the session
// cookie sent by the browser (the page never sees the token), and on every
// state-changing call the X-Orch-CSRF header that orchd requires of a
// cookie-authenticated write (a cross-site form cannot send it).
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const opts = { method, credentials: "same-origin", headers, cache: "no-store" };
  if (method !== "GET" && method !== "HEAD") headers["X-Orch-CSRF"] = "1";
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = json && json.error ? json.error : {};
    if (res.status === 401 && path !== "/v1/session") onUnauthorized();
    throw new ApiError(res.status, err.code, err.message || text.slice(0, 200));
  }
  return json;
}

// Path segments are always encoded: a run or step id never becomes a path.
export const seg = (s) => encodeURIComponent(String(s));

// fn(data) for each `event` of a server-sent stream whose data is JSON;
// one that is not is skipped (a stream is read, never trusted to parse).
export function onJson(es, event, fn) {
  es.addEventListener(event, (m) => {
    let d;
    try {
      d = JSON.parse(m.data);
    } catch {
      return;
    }
    fn(d);
  });
}
