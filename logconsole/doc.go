// Package logconsole is the console: a web page, served by logsd at /, to
// search, chart, tail and export one tenant's logs in a browser.
//
// It is plain HTML, CSS and JavaScript modules embedded in the binary with
// embed.FS (no build step, no third-party code, nothing fetched from
// another origin), talking only to the Logs API of the server that serves
// it:
//
//   - sign-in: the user pastes a bearer token; the tenant is its tenant_id
//     claim. The token is kept in the tab's sessionStorage and sent only in
//     the Authorization header, never in a URL. A 401 brings the sign-in
//     back with the server's message.
//   - search: GET /api/v1/logs with the filter of the form, which lives in
//     the page's URL (?level=&source=&search=&range= or from/to), paging
//     forward with nextCursor and back through the cursors it came by, the
//     exact total.
//   - chart: GET /api/v1/logs/stats, counts by level over time as an SVG
//     histogram; dragging across it (or the arrow keys and Enter) narrows
//     the time range.
//   - live tail: a stream ticket (POST /api/v1/logs/stream/tickets) opened
//     with the browser's EventSource; a dropped connection is resumed by
//     the browser with the ticket and Last-Event-ID, an end event by a new
//     ticket and the last event id, so that nothing is missed or repeated.
//   - export: POST /api/v1/logs/export with the current filter, polled
//     until ready with its progress (exportedRecords of estimatedRecords),
//     then a download link.
//
// Every value of an entry is written with textContent, never as HTML, and
// the pages are served with [ContentSecurityPolicy]: scripts only from
// this origin, no inline script or style attribute, no framing.
package logconsole
