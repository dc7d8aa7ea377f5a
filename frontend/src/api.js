// The page's calls to its own server (clusters/web/PAGE.md): session cookie, CSRF header, JSON both ways.

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  // CSRF_COOKIE_HTTPONLY setups: the template's {% csrf_token %} inputs still carry it.
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Calls `base + path` and answers the parsed JSON (null for 204); throws ApiError with the server's message. */
export function createApi(base) {
  return async function api(path, { method = "GET", body, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(base + path, {
        method, headers, signal, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("The server cannot be reached.", 0);
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { /* an HTML error page: the status says enough */ }
    if (!response.ok) {
      throw new ApiError(data?.error || `The server answered ${response.status} ${response.statusText}.`, response.status);
    }
    return data;
  };
}
