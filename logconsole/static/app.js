// The console: sign-in, the search view (filter, chart, table, pages), the
// live tail and exports.

import { APIError, Client, TOKEN_KEY, claimsOf } from "./api.js";
import * as filters from "./filter.js";
import * as table from "./table.js";
import { Chart } from "./chart.js";
import { Tail } from "./tail.js";

const $ = (id) => document.getElementById(id);
const LIMIT = 50;
const TAIL_MAX = 500; // rows kept while tailing
const nf = new Intl.NumberFormat();

const state = {
  client: null,
  filter: null, // as in the URL
  query: null, // the API parameters of the current search (times resolved)
  pages: [], // the cursor of every page shown so far ("" for the first)
  next: null, // nextCursor of the page shown
  total: 0,
  seq: 0, // the current search; answers of older ones are dropped
  tail: null,
  paused: false,
  pending: [], // entries that came while paused (at most TAIL_MAX)
  missed: 0, // entries that came while paused, all of them
  arrived: 0,
  exportTimer: 0,
};

// ---- sign-in ----

function showSignIn(message) {
  stopTail();
  state.client = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("who").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  const err = $("signin-error");
  err.textContent = message || "";
  err.hidden = !message;
  $("token").focus();
}

function signIn(token) {
  const client = new Client(token); // throws in words
  state.client = client;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("tenant").textContent = client.tenant;
  $("who").hidden = false;
  $("signout").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  loadFromURL();
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
  try {
    signIn(token);
    $("token").value = "";
  } catch (err) {
    showSignIn(err.message);
  }
});

$("signout").addEventListener("click", () => showSignIn(""));

// failed shows an error of the API in words; a 401 signs out.
function failed(err, where) {
  if (err.name === "AbortError") return;
  if (err instanceof APIError && err.status === 401) {
    showSignIn(`The server refused the token: ${err.words()}`);
    return;
  }
  const words = err instanceof APIError ? err.words() : String(err);
  where.textContent = words;
  where.classList.add("error");
}

// ---- the filter form ----

function fillForm(f) {
  $("f-level").value = f.level;
  $("f-source").value = f.source;
  $("f-search").value = f.search;
  $("f-range").value = f.range;
  const a = filters.parseTime(f.from), b = filters.parseTime(f.to);
  $("f-from").value = a ? filters.localInput(a) : "";
  $("f-to").value = b ? filters.localInput(b) : "";
  $("filter").classList.toggle("is-custom", f.range === "custom");
}

function readForm() {
  const f = {
    level: $("f-level").value,
    source: $("f-source").value.trim(),
    search: $("f-search").value.trim(),
    range: $("f-range").value,
    from: "",
    to: "",
  };
  if (f.range === "custom") {
    f.from = formTime($("f-from").value, state.filter && state.filter.from);
    f.to = formTime($("f-to").value, state.filter && state.filter.to);
  }
  return f;
}

// formTime is the time of a from/to input (to the second, the browser's
// zone) in UTC, or shown, the time of the URL it shows when it is
// unchanged: a range to ...59.999999Z (the chart's) must not become
// ...59.000Z, which leaves out the entries of its last second.
function formTime(value, shown) {
  const d = filters.parseTime(value), s = filters.parseTime(shown || "");
  if (!d) return "";
  // The input shows the second (and drops ":00"); the URL's time is finer.
  if (s && d.getTime() === Math.floor(s.getTime() / 1000) * 1000) return shown;
  return d.toISOString();
}

$("f-range").addEventListener("change", () => {
  const custom = $("f-range").value === "custom";
  $("filter").classList.toggle("is-custom", custom);
  if (custom && !$("f-from").value) {
    const q = state.query || {};
    if (q.startDate) $("f-from").value = filters.localInput(new Date(q.startDate));
    $("f-to").value = filters.localInput(new Date());
  }
});

$("filter").addEventListener("submit", (e) => {
  e.preventDefault();
  navigate(readForm());
});

// navigate shows filter f, as a new entry of the browser's history.
function navigate(f) {
  const qs = filters.toURL(f);
  history.pushState(null, "", qs ? `/?${qs}` : "/");
  loadFromURL();
}

window.addEventListener("popstate", () => { if (state.client) loadFromURL(); });

function loadFromURL() {
  state.filter = filters.fromURL(location.search);
  fillForm(state.filter);
  search();
}

// ---- search: list, total, chart, pages ----

function setStatus(words, isError) {
  const s = $("status");
  s.textContent = words;
  s.classList.toggle("error", !!isError);
}

function search() {
  const wasTailing = !!state.tail;
  stopTail();
  state.query = filters.params(state.filter);
  state.pages = [""];
  loadPage();
  loadChart();
  if (wasTailing) startTail();
}

async function loadPage() {
  const seq = ++state.seq;
  const cursor = state.pages[state.pages.length - 1];
  setStatus("Loading…");
  $("older").disabled = $("newer").disabled = true;
  const q = { ...state.query, limit: LIMIT };
  if (cursor) q.cursor = cursor;
  try {
    const d = await state.client.list(q);
    if (seq !== state.seq) return;
    state.next = d.nextCursor || null;
    state.total = d.total;
    table.show($("rows"), d.logs);
    $("total").textContent = `${nf.format(d.total)} ${d.total === 1 ? "entry" : "entries"}`;
    const first = (state.pages.length - 1) * LIMIT;
    $("page").textContent = d.logs.length ? `${nf.format(first + 1)}–${nf.format(first + d.logs.length)} of ${nf.format(d.total)}` : "";
    setStatus(d.logs.length ? "" : emptyWords());
    $("newer").disabled = state.pages.length <= 1;
    $("older").disabled = !state.next;
  } catch (err) {
    if (seq !== state.seq) return;
    table.show($("rows"), []);
    $("total").textContent = "";
    $("page").textContent = "";
    setStatus("", true);
    failed(err, $("status"));
  }
}

function emptyWords() {
  const f = state.filter;
  if (f.level || f.source || f.search || f.range !== "all") return "No entries match this filter. Widen the time range or clear a field.";
  return "No entries yet. Send some with POST /api/v1/logs, or start the live tail to watch them arrive.";
}

$("older").addEventListener("click", () => {
  if (!state.next) return;
  state.pages.push(state.next);
  loadPage();
});
$("newer").addEventListener("click", () => {
  if (state.pages.length <= 1) return;
  state.pages.pop();
  loadPage();
});

const chart = new Chart($("chart"), (start, end) => {
  navigate({ ...state.filter, range: "custom", from: filters.iso(start), to: filters.endBefore(end) });
});

function rangeMs() {
  const q = state.query;
  const end = q.endDate ? Date.parse(q.endDate) : Date.now();
  const start = q.startDate ? Date.parse(q.startDate) : end - 90 * 86400e3;
  return Math.max(end - start, 60e3);
}

async function loadChart() {
  const seq = state.seq;
  const [name, size] = filters.interval(rangeMs());
  const words = $("chart-status");
  words.classList.remove("error");
  words.textContent = "Loading the chart…";
  try {
    const d = await state.client.stats({ ...state.query, interval: name });
    if (seq !== state.seq) return;
    state.chartStats = [d, size];
    chart.render(d, size);
    words.textContent = `${nf.format(d.total)} in ${d.buckets.length} bars of ${name}. Drag across the bars to narrow the time range.`;
    const legend = document.createElement("span");
    legend.className = "legend";
    for (const lv of ["info", "warn", "error"]) {
      const k = document.createElement("span");
      const i = document.createElement("i");
      i.className = `k-${lv}`;
      k.append(i, `${lv} ${nf.format(d.levels[lv] || 0)}`);
      legend.append(k);
    }
    words.append(legend);
  } catch (err) {
    if (seq !== state.seq) return;
    chart.clear();
    words.textContent = "";
    failed(err, words);
  }
}

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (state.chartStats) chart.render(...state.chartStats); }, 150);
});

// ---- live tail ----

function tailWords(words) { $("tail-status").textContent = words; }

function pausedWords() {
  return state.missed ? `Paused: ${nf.format(state.missed)} new ${state.missed === 1 ? "entry" : "entries"} waiting.` : "Paused.";
}

function startTail() {
  if (state.pages.length > 1) { // the tail goes on top of the newest page
    state.pages = [""];
    loadPage();
  }
  state.paused = false;
  state.pending = [];
  state.missed = 0;
  state.arrived = 0;
  $("tail").setAttribute("aria-pressed", "true");
  $("tail").textContent = "Stop tail";
  $("pause").hidden = false;
  $("pause").setAttribute("aria-pressed", "false");
  $("pause").textContent = "Pause";
  $("pager").hidden = true;
  const tail = new Tail(state.client, filters.streamFilter(state.filter), {
    entry: (e) => {
      if (state.tail !== tail) return;
      state.arrived++;
      if (state.paused) {
        state.missed++;
        state.pending.push(e);
        if (state.pending.length > TAIL_MAX) state.pending.shift();
        tailWords(pausedWords());
        return;
      }
      table.prepend($("rows"), [e], TAIL_MAX);
      setStatus("");
      tailWords(`Live: ${nf.format(state.arrived)} new ${state.arrived === 1 ? "entry" : "entries"}.`);
    },
    state: (words) => { if (state.tail === tail && !state.paused) tailWords(words); },
    unauthorized: (words) => showSignIn(words),
  });
  state.tail = tail;
  tail.start();
}

function stopTail() {
  if (state.tail) state.tail.stop();
  state.tail = null;
  state.paused = false;
  $("tail").setAttribute("aria-pressed", "false");
  $("tail").textContent = "Live tail";
  $("pause").hidden = true;
  $("pager").hidden = false;
  tailWords("");
}

$("tail").addEventListener("click", () => (state.tail ? stopTail() : startTail()));
$("pause").addEventListener("click", () => {
  if (!state.tail) return;
  state.paused = !state.paused;
  $("pause").setAttribute("aria-pressed", String(state.paused));
  $("pause").textContent = state.paused ? "Resume" : "Pause";
  if (state.paused) {
    tailWords(pausedWords());
    return;
  }
  table.prepend($("rows"), state.pending, TAIL_MAX);
  state.pending = [];
  state.missed = 0;
  tailWords(`Live: ${nf.format(state.arrived)} new ${state.arrived === 1 ? "entry" : "entries"}.`);
});

// ---- export ----

$("export").addEventListener("click", async () => {
  const out = $("export-status");
  out.hidden = false;
  out.classList.remove("error");
  out.textContent = "Submitting the export…";
  clearTimeout(state.exportTimer);
  const format = $("export-format").value;
  let job;
  try {
    job = await state.client.createExport({ format, ...state.query });
  } catch (err) {
    out.textContent = "";
    failed(err, out);
    return;
  }
  const poll = async () => {
    try {
      job = await state.client.getExport(job.exportId);
    } catch (err) {
      out.textContent = "";
      failed(err, out);
      return;
    }
    showExport(job, format);
    if (job.status === "processing") state.exportTimer = setTimeout(poll, 500);
  };
  showExport(job, format);
  state.exportTimer = setTimeout(poll, 300);
});

function showExport(job, format) {
  const out = $("export-status");
  const of = `${nf.format(job.exportedRecords || 0)} of ${nf.format(job.estimatedRecords)} records`;
  switch (job.status) {
    case "processing":
      out.textContent = `Exporting ${format.toUpperCase()}: ${of}…`;
      break;
    case "ready": {
      out.textContent = `Export ready: ${nf.format(job.estimatedRecords)} records. `;
      const a = document.createElement("a");
      a.href = job.downloadUrl;
      a.id = "download";
      a.download = `${job.exportId}.${format}`;
      a.rel = "noopener";
      a.textContent = `Download ${job.exportId}.${format}`;
      out.append(a, ` (the link works until ${new Date(job.expiresAt).toLocaleTimeString()})`);
      break;
    }
    case "failed":
      out.textContent = `The export failed: ${job.error || "no reason given"}.`;
      out.classList.add("error");
      break;
    default:
      out.textContent = `The export is ${job.status}.`;
  }
}

// ---- start ----

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  try {
    claimsOf(saved);
    signIn(saved);
  } catch (err) {
    showSignIn(err.message);
  }
} else {
  showSignIn("");
}
