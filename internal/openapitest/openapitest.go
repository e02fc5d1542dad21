// Package openapitest checks real answers of the API against its OpenAPI
// document (loghttp.OpenAPI) with kin-openapi's openapi3filter, for the
// tests of every package that makes requests: loghttp's and logsd's
// end-to-end tests run each answer through Check.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
)

// Doc is the document, loaded and validated once.
var Doc = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(loghttp.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// Router finds the document's operation of a request.
var Router = sync.OnceValues(func() (routers.Router, error) {
	doc, err := Doc()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// Check validates one real answer against the document: its status
// must be one the operation documents, its headers and body what that
// response says. Test helpers that make requests run each answer through it, so the tests of
// every endpoint check the document as they run. A route the document
// does not have (an unknown path: 404, 405) must still be the error
// envelope.
func Check(tb testing.TB, hr *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	doc, err := Doc()
	require.NoError(tb, err)
	router, err := Router()
	require.NoError(tb, err)
	if hr.Method == http.MethodHead {
		return // no body to check; the GET's is
	}
	route, params, err := router.FindRoute(hr)
	if err != nil || status == http.StatusMethodNotAllowed {
		schema := doc.Components.Schemas["ErrorEnvelope"].Value
		var v any
		require.NoError(tb, json.Unmarshal(body, &v), "%s", body)
		assert.NoError(tb, schema.VisitJSON(v, openapi3.EnableJSONSchema2020()),
			"%s %s answered %d outside the document's routes, and not with the error envelope: %s", hr.Method, hr.URL.Path, status, body)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	assert.NoError(tb, err, "the answer of %s %s (%d) does not match the OpenAPI document: %s", hr.Method, hr.URL.Path, status, clip(body))
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}
