package logclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// The verifiable log's answers come back as their JSON, for
// logtree.Proof and logtree.Consistency to read (json.Unmarshal) and
// logtree.CheckProof and CheckConsistency to check against a public key
// the caller holds: the client stays free of the server's packages.

// Proof returns the data of GET /api/v1/logs/proof for the tenant's entry
// id: its inclusion proof in the verifiable log, as the server says it.
func (c *Client) Proof(ctx context.Context, id string) (json.RawMessage, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/logs/proof", url.Values{"id": {id}}, nil, "", &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Consistency returns the data of GET /api/v1/logs/checkpoints/consistency
// between the tenant's trees of sizes from and to, as the server says it.
func (c *Client) Consistency(ctx context.Context, from, to int64) (json.RawMessage, error) {
	var raw json.RawMessage
	q := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/logs/checkpoints/consistency", q, nil, "", &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
