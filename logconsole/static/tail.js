// The live tail: a stream ticket opened with the browser's EventSource.
// A dropped connection is resumed by the browser itself (the same URL, with
// Last-Event-ID: the server accepts the ticket again for that); an end
// event, or a browser that gave up, by a new ticket and the last event id.
// Nothing is missed and nothing repeated.

import { APIError } from "./api.js";

// endWords says an end event's reason in words.
export function endWords(reason, message) {
  switch (reason) {
    case "shutdown": return "The server is restarting; the tail resumes where it stopped.";
    case "max_duration": return "The stream reached its maximum duration; the tail resumes where it stopped.";
    case "stream_limit": return "The server has as many live streams as it allows; trying again shortly.";
    case "tenant_stream_limit": return "Your tenant has as many live streams as it is allowed (other tabs or tools); trying again shortly.";
    case "credential_expired": return "Your token expired; sign in again to go on tailing.";
    case "unavailable": return "The log store is unavailable; trying again shortly.";
  }
  return message || `The stream ended (${reason}).`;
}

export class Tail {
  // filter: level, source, search. on: {entry(e), state(words, live),
  // unauthorized(message)}.
  constructor(client, filter, on) {
    this.client = client;
    this.filter = filter;
    this.on = on;
    this.lastId = "";
    this.stopped = false;
    this.failures = 0;
  }

  async start() {
    if (this.stopped) return;
    this.on.state("Opening the live stream…", false);
    let t;
    try {
      t = await this.client.ticket(this.filter);
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof APIError && (e.status === 401 || e.status === 403)) {
        this.stopped = true;
        this.on.unauthorized(e.words());
        return;
      }
      this.retry(e instanceof APIError ? e.words() : String(e), 1000);
      return;
    }
    if (this.stopped) return;
    if (!this.lastId) this.lastId = t.lastEventId; // from the ticket's moment on
    const url = `${t.streamUrl}&lastEventId=${encodeURIComponent(this.lastId)}`;
    const es = new EventSource(url);
    this.es = es;
    es.onopen = () => {
      this.failures = 0;
      this.on.state("Live: new entries appear at the top.", true);
    };
    es.onmessage = (ev) => {
      if (ev.lastEventId) this.lastId = ev.lastEventId;
      let entry;
      try {
        entry = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.on.entry(entry);
    };
    es.addEventListener("end", (ev) => {
      es.close();
      let d = {};
      try { d = JSON.parse(ev.data); } catch { /* words from the reason alone */ }
      if (d.reason === "credential_expired") {
        this.stopped = true;
        this.on.unauthorized(endWords(d.reason, d.message));
        return;
      }
      const wait = d.reason === "stream_limit" || d.reason === "tenant_stream_limit" ? 15000 : 1000;
      this.retry(endWords(d.reason, d.message), wait);
    });
    es.onerror = () => {
      if (this.stopped || this.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (a refused reconnection): a new ticket.
        this.retry("The connection was refused; reconnecting…", 1000);
      } else {
        this.on.state("Connection lost; the browser is reconnecting…", false);
      }
    };
  }

  retry(words, wait) {
    if (this.es) this.es.close();
    this.es = null;
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(wait * 2 ** Math.min(this.failures - 1, 4), 30000);
    this.on.state(`${words} (next try in ${Math.round(delay / 1000)} s)`, false);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), delay);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }
}
