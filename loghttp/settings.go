package loghttp

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// maxSettingsBody bounds the body of a settings request.
const maxSettingsBody = 4 << 10

// settingsResponse is the data of GET and PATCH /api/v1/logs/settings.
type settingsResponse struct {
	// RetentionDays is how many days the tenant's entries are kept (null:
	// forever); Custom whether the tenant set it.
	RetentionDays *int `json:"retentionDays"`
	Custom        bool `json:"custom"`
	// The operator's default and maximum (null: forever, no limit).
	DefaultRetentionDays *int `json:"defaultRetentionDays"`
	MaxRetentionDays     *int `json:"maxRetentionDays"`
}

func days(d time.Duration) *int {
	if d <= 0 {
		return nil
	}
	n := int(d / (24 * time.Hour))
	return &n
}

func (s *Server) settings() (logstore.Settings, error) {
	if s.opts.Settings == nil {
		return nil, logs.NewError(logs.ErrNotFound, "", "tenant settings are not served here")
	}
	return s.opts.Settings, nil
}

func (s *Server) writeSettings(w http.ResponseWriter, r *http.Request, st logstore.Settings, tenant string) error {
	ts, err := st.TenantSettings(r.Context(), tenant)
	if err != nil {
		return err
	}
	keep, err := st.Retention(r.Context(), tenant)
	if err != nil {
		return err
	}
	p := st.RetentionPolicy()
	writeData(w, http.StatusOK, settingsResponse{RetentionDays: days(keep), Custom: ts.RetentionDays > 0,
		DefaultRetentionDays: days(p.Default), MaxRetentionDays: days(p.Max)})
	return nil
}

// getSettings serves GET /api/v1/logs/settings (log:admin).
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.settings()
	if err != nil {
		return err
	}
	return s.writeSettings(w, r, st, c.Tenant)
}

// patchSettings serves PATCH /api/v1/logs/settings (log:admin):
// {"retentionDays": N} sets the tenant's retention (whole days, up to the
// operator's maximum), null goes back to the default. The retention
// applies to every read at once; the purge removes what it no longer
// keeps within its next run.
func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.settings()
	if err != nil {
		return err
	}
	if _, err := bodyType(r.Header, false); err != nil {
		return err
	}
	body, err := s.readBody(w, r, maxSettingsBody)
	if err != nil {
		return err
	}
	vals, err := parseObject(body, []string{"retentionDays"}, false, `{"retentionDays":30}`)
	if err != nil {
		return err
	}
	ts, err := st.TenantSettings(r.Context(), c.Tenant)
	if err != nil {
		return err
	}
	if raw, ok := vals["retentionDays"]; ok {
		ts.RetentionDays = 0
		if string(raw) != "null" {
			var n json.Number
			if raw[0] == '"' || json.Unmarshal(raw, &n) != nil { // json.Number takes "30" too
				return logs.Invalid("retentionDays", "must be a whole number of days, or null for the default")
			}
			v, err := n.Int64()
			if err != nil || v < 1 || v > 1<<20 {
				return logs.Invalid("retentionDays", "must be a whole number of days from 1, or null for the default")
			}
			ts.RetentionDays = int(v)
		}
	}
	if err := st.SetTenantSettings(r.Context(), c.Tenant, ts); err != nil {
		return err
	}
	return s.writeSettings(w, r, st, c.Tenant)
}
