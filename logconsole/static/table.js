// The results table. Every value of an entry is written as text
// (textContent), never as HTML.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3,
  hour12: false, timeZoneName: "short",
});

// localTime is an RFC 3339 time in the browser's zone.
export function localTime(s) {
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : timeFormat.format(d);
}

function cell(tr, cls, text) {
  const td = document.createElement("td");
  td.className = cls;
  if (text !== undefined) td.textContent = text;
  tr.append(td);
  return td;
}

// row makes the table row of an entry, and its details row (hidden): the
// whole entry, metadata included, as formatted JSON.
export function rows(entry) {
  const tr = document.createElement("tr");
  tr.className = "entry";
  tr.dataset.id = String(entry.id);

  const details = document.createElement("tr");
  details.className = "details";
  details.hidden = true;
  const dtd = document.createElement("td");
  dtd.colSpan = 5;
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(entry, null, 2);
  dtd.append(pre);
  details.append(dtd);

  const open = cell(tr, "c-open");
  const btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = "▸";
  btn.setAttribute("aria-expanded", "false");
  btn.setAttribute("aria-label", "Show the whole entry");
  btn.addEventListener("click", () => {
    const show = details.hidden;
    details.hidden = !show;
    btn.textContent = show ? "▾" : "▸";
    btn.setAttribute("aria-expanded", String(show));
  });
  open.append(btn);

  const t = cell(tr, "c-time");
  const time = document.createElement("time");
  time.dateTime = String(entry.createdAt);
  time.title = `${entry.createdAt} (UTC)`;
  time.textContent = localTime(entry.createdAt);
  t.append(time);

  const lv = cell(tr, "c-level");
  const span = document.createElement("span");
  const level = String(entry.level);
  span.className = "level" + (["info", "warn", "error"].includes(level) ? ` level-${level}` : "");
  span.textContent = level;
  lv.append(span);

  cell(tr, "c-source", String(entry.source));
  cell(tr, "c-message", String(entry.message));
  return [tr, details];
}

// show replaces the rows of tbody with entries.
export function show(tbody, entries) {
  const frag = document.createDocumentFragment();
  for (const e of entries) frag.append(...rows(e));
  tbody.replaceChildren(frag);
}

// prepend adds entries (newest last in the list) at the top of tbody,
// keeping at most max entries.
export function prepend(tbody, entries, max) {
  for (const e of entries) {
    const [tr, details] = rows(e);
    tr.classList.add("fresh");
    tbody.prepend(tr, details);
  }
  while (tbody.querySelectorAll("tr.entry").length > max) {
    tbody.lastElementChild.remove(); // details
    tbody.lastElementChild.remove(); // entry
  }
}
