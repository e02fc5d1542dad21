// The Logs API, as the console calls it: every request carries the bearer
// token in the Authorization header (never in a URL) and the tenant in
// X-Tenant-ID; every answer is the API's envelope.

export const TOKEN_KEY = "logs.console.token";

// APIError is a failure envelope (or a failure to get one).
export class APIError extends Error {
  constructor(status, code, message, field, requestId) {
    super(message || `the server answered ${status}`);
    this.status = status;
    this.code = code || "";
    this.field = field || "";
    this.requestId = requestId || "";
  }

  // words is the error as the console shows it.
  words() {
    let s = this.message;
    if (this.field) s += ` (${this.field})`;
    if (this.status >= 500 && this.requestId) s += ` — request id ${this.requestId}`;
    return s;
  }
}

function b64urlDecode(s) {
  s = s.replace(/-/g, "+").replace(/_/g, "/");
  while (s.length % 4) s += "=";
  const bin = atob(s);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

// claimsOf reads a JWT's claims without verifying it (the server does):
// the console needs the tenant and the expiry. It throws an Error in words
// for anything that is not a JWT with a tenant_id.
export function claimsOf(token) {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) {
    throw new Error("That is not a JWT: a bearer token has three parts separated by dots.");
  }
  let claims;
  try {
    claims = JSON.parse(b64urlDecode(parts[1]));
  } catch {
    throw new Error("That is not a JWT: its claims are not JSON.");
  }
  if (typeof claims !== "object" || claims === null || typeof claims.tenant_id !== "string" || claims.tenant_id === "") {
    throw new Error("The token has no tenant_id claim: the console cannot tell which tenant to show.");
  }
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(claims.tenant_id)) {
    // What the server takes as a tenant (and a header can carry): else the
    // browser refuses to send X-Tenant-ID and the console would blame the
    // network.
    throw new Error("The token's tenant_id is not a tenant id: up to 128 letters, digits and . _ : -.");
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
    throw new Error(`The token expired at ${new Date(claims.exp * 1000).toLocaleString()}.`);
  }
  return { tenant: claims.tenant_id, exp: claims.exp, permissions: claims.permissions };
}

// Client calls the API of the origin that served the console.
export class Client {
  constructor(token) {
    this.token = token;
    this.tenant = claimsOf(token).tenant;
  }

  async request(method, path, { query, body, signal } = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    const headers = { Authorization: `Bearer ${this.token}`, "X-Tenant-ID": this.tenant, Accept: "application/json" };
    const init = { method, headers, signal, cache: "no-store", credentials: "omit", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(url, init);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new APIError(0, "unavailable", "The server cannot be reached; is logsd running?");
    }
    const requestId = r.headers.get("X-Request-ID");
    let env;
    try {
      env = await r.json();
    } catch {
      throw new APIError(r.status, "bad_response", `The server answered ${r.status} without its JSON envelope.`, "", requestId);
    }
    if (!r.ok || !env || env.success !== true) {
      const e = (env && env.error) || {};
      throw new APIError(r.status, e.code, e.message, e.field, requestId);
    }
    return env.data;
  }

  list(query, signal) { return this.request("GET", "/api/v1/logs", { query, signal }); }
  stats(query, signal) { return this.request("GET", "/api/v1/logs/stats", { query, signal }); }
  ticket(filter) { return this.request("POST", "/api/v1/logs/stream/tickets", { body: filter }); }
  createExport(body) { return this.request("POST", "/api/v1/logs/export", { body }); }
  getExport(id) { return this.request("GET", `/api/v1/logs/export/${encodeURIComponent(id)}`); }
}
