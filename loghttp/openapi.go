package loghttp

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is the OpenAPI 3.1 document of the API (openapi.json beside this
// file), served at GET /api/v1/openapi.json. Tests check that it names
// exactly the routes of the route table and that real answers validate
// against it: a new route is a line in routes() and a path in the
// document.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPI serves GET /api/v1/openapi.json (no authentication: the
// document is public).
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *call) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI)
	return nil
}
