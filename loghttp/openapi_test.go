package loghttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/openapitest"
	"github.com/ithbat/logs/loghttp"
)

// TestOpenAPIRoutes checks that the route table (server.go) and the
// document name the same routes, and each route the same query parameters.
func TestOpenAPIRoutes(t *testing.T) {
	doc, err := openapitest.Doc()
	require.NoError(t, err)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	srv := loghttp.New(openStore(t, "sqlite"), nil)

	inTable := map[string]loghttp.Route{}
	for _, rt := range srv.Routes() {
		inTable[rt.Method+" "+rt.Path] = rt
	}
	inDoc := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			inDoc[method+" "+path] = op
		}
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(inTable)) {
		if _, ok := inDoc[k]; !ok {
			problems = append(problems, fmt.Sprintf("route %s is in the route table (loghttp/server.go) but not in the OpenAPI document (loghttp/openapi.json): add it to paths", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(inDoc)) {
		rt, ok := inTable[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("route %s is in the OpenAPI document (loghttp/openapi.json) but not in the route table (loghttp/server.go)", k))
			continue
		}
		var query []string
		for _, p := range inDoc[k].Parameters {
			if p.Value.In == openapi3.ParameterInQuery {
				query = append(query, p.Value.Name)
			}
		}
		want := slices.Clone(rt.Query)
		sort.Strings(want)
		sort.Strings(query)
		if !slices.Equal(want, query) {
			problems = append(problems, fmt.Sprintf("route %s takes the query parameters %v in the route table but %v in the OpenAPI document", k, want, query))
		}
		if got, _ := inDoc[k].Extensions["x-permission"].(string); got != rt.Permission {
			problems = append(problems, fmt.Sprintf("route %s needs the permission %q in the route table but x-permission is %q in the OpenAPI document", k, rt.Permission, got))
		}
	}
	assert.Empty(t, problems, "\n%s", strings.Join(problems, "\n"))
}

// TestOpenAPIServed checks that the server serves the document, without a
// token.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, openStore(t, "sqlite"), nil)
	res, err := http.Get(e.URL + "/api/v1/openapi.json")
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, loghttp.OpenAPI, body)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
}

func TestOpenAPICatchesDrift(t *testing.T) {
	// The validation can fail: an entry with a field the document does not
	// have, and a status it does not list, are refused.
	router, err := openapitest.Router()
	require.NoError(t, err)
	hr, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/v1/logs", nil)
	require.NoError(t, err)
	route, params, err := router.FindRoute(hr)
	require.NoError(t, err)
	validate := func(status int, body string) error {
		return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
			Status:                 status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true},
		})
	}
	good := `{"success":true,"data":{"logs":[{"id":"0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f","tenantId":"t","level":"info","source":"a","message":"m","metadata":{},"createdAt":"2026-03-01T00:00:00.000000Z"}],"total":1,"page":1,"limit":50,"nextCursor":null}}`
	require.NoError(t, validate(200, good))
	assert.Error(t, validate(200, strings.Replace(good, `"metadata":{}`, `"metadata":{},"extra":1`, 1)))
	assert.Error(t, validate(200, strings.Replace(good, `"info"`, `"debug"`, 1)))
	assert.Error(t, validate(418, `{"success":false,"error":{"code":"internal","message":"m"}}`))
}
