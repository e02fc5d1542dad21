// The filter of the view, as it lives in the page's URL (so that a view can
// be shared and reloaded) and as the API takes it.

export const PRESETS = {
  "15m": 15 * 60e3,
  "1h": 3600e3,
  "24h": 24 * 3600e3,
  "7d": 7 * 24 * 3600e3,
  "30d": 30 * 24 * 3600e3,
};
export const DEFAULT_RANGE = "24h";
const RANGES = [...Object.keys(PRESETS), "all", "custom"];
const LEVELS = ["", "info", "warn", "error"];

// fromURL reads a filter from a query string: level, source, search, range
// (a preset, all or custom) and, for custom, from and to (RFC 3339).
export function fromURL(search) {
  const q = new URLSearchParams(search);
  const f = {
    level: q.get("level") || "",
    source: q.get("source") || "",
    search: q.get("search") || "",
    range: q.get("range") || "",
    from: q.get("from") || "",
    to: q.get("to") || "",
  };
  if (!LEVELS.includes(f.level)) f.level = "";
  if (!f.range) f.range = f.from || f.to ? "custom" : DEFAULT_RANGE;
  if (!RANGES.includes(f.range)) f.range = DEFAULT_RANGE;
  if (f.range !== "custom") f.from = f.to = "";
  if (f.from && !parseTime(f.from)) f.from = "";
  if (f.to && !parseTime(f.to)) f.to = "";
  return f;
}

// toURL writes a filter as a query string (without "?"), leaving out what
// is empty or the default.
export function toURL(f) {
  const q = new URLSearchParams();
  for (const k of ["level", "source", "search"]) if (f[k]) q.set(k, f[k]);
  if (f.range === "custom") {
    q.set("range", "custom");
    if (f.from) q.set("from", f.from);
    if (f.to) q.set("to", f.to);
  } else if (f.range && f.range !== DEFAULT_RANGE) {
    q.set("range", f.range);
  }
  return q.toString();
}

// parseTime reads an RFC 3339 time, or a datetime-local input's value (the
// browser's zone); it returns a Date or null.
export function parseTime(s) {
  if (!s) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/.test(s)) return null;
  const d = new Date(s);
  return isNaN(d.getTime()) ? null : d;
}

// iso is a time as the API takes it, in UTC.
export function iso(ms) { return new Date(ms).toISOString(); }

// endBefore is the inclusive endDate of a range that ends (exclusively) at
// ms: a microsecond before it, the stores' precision.
export function endBefore(ms) { return new Date(ms - 1).toISOString().replace(/Z$/, "999Z"); }

// params turns a filter into the API's query parameters, the time range
// resolved against now: a preset starts now minus its length.
export function params(f, now = Date.now()) {
  const p = {};
  for (const k of ["level", "source", "search"]) if (f[k]) p[k] = f[k];
  if (PRESETS[f.range]) {
    p.startDate = iso(now - PRESETS[f.range]);
  } else if (f.range === "custom") {
    const a = apiTime(f.from), b = apiTime(f.to);
    if (a) p.startDate = a;
    if (b) p.endDate = b;
  }
  return p;
}

// apiTime is a time of the URL as the API takes it: one with an offset as
// written (a Date keeps milliseconds, the API microseconds: ...59.999999Z
// must not become ...59.999Z), one without (the browser's zone) in UTC;
// "" when s is not a time.
export function apiTime(s) {
  const d = parseTime(s);
  if (!d) return "";
  return /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : d.toISOString();
}

// streamFilter is the part of a filter that a live stream takes: it starts
// from now, whatever the time range.
export function streamFilter(f) {
  const p = {};
  for (const k of ["level", "source", "search"]) if (f[k]) p[k] = f[k];
  return p;
}

// interval picks the stats bucket for a range of ms milliseconds: the
// smallest of the API's with at most 300 bars.
export function interval(ms) {
  const sizes = [["1m", 60e3], ["5m", 300e3], ["1h", 3600e3], ["1d", 86400e3]];
  for (const [name, size] of sizes) if (ms / size <= 300) return [name, size];
  return sizes[sizes.length - 1];
}

// localInput is a time as a datetime-local input shows it (the browser's
// zone, to the second).
export function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
