package loghttp

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
)

// maxExportBody bounds the body of an export request.
const maxExportBody = 64 << 10

// exportFields are the fields of an export request: format and the fields
// of a filter.
var exportFields = slices.Concat([]string{"format"}, logquery.Fields)

// exportResponse is the data of the export endpoints, as the API document
// shows it; exportedRecords (the entries written so far: the progress) is
// an extension, and so is error, present when status is "failed".
type exportResponse struct {
	ExportID         string  `json:"exportId"`
	Status           string  `json:"status"`
	Format           string  `json:"format"`
	EstimatedRecords int64   `json:"estimatedRecords"`
	ExportedRecords  int64   `json:"exportedRecords"`
	DownloadURL      *string `json:"downloadUrl"`
	ExpiresAt        *string `json:"expiresAt"`
	CreatedAt        string  `json:"createdAt"`
	Error            string  `json:"error,omitempty"`
}

func exportView(j logexport.Job) exportResponse {
	v := exportResponse{
		ExportID: j.ID, Status: string(j.Status), Format: string(j.Format),
		EstimatedRecords: j.EstimatedRecords, ExportedRecords: j.Records, CreatedAt: logs.FormatTime(j.CreatedAt), Error: j.Error,
	}
	if j.Status == logexport.StatusReady && j.DownloadURL != "" {
		u, t := j.DownloadURL, logs.FormatTime(j.ExpiresAt)
		v.DownloadURL, v.ExpiresAt = &u, &t
	}
	return v
}

func (s *Server) exporter() (*logexport.Exporter, error) {
	if s.opts.Export == nil {
		return nil, logs.NewError(logs.ErrNotFound, "", "exports are not enabled on this server")
	}
	return s.opts.Export, nil
}

// createExport serves POST /api/v1/logs/export.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request, c *call) error {
	x, err := s.exporter()
	if err != nil {
		return err
	}
	if _, err := bodyType(r.Header, false); err != nil {
		return err
	}
	body, err := s.readBody(w, r, maxExportBody)
	if err != nil {
		return err
	}
	format, f, err := parseExportRequest(body)
	if err != nil {
		return err
	}
	job, err := x.Submit(r.Context(), c.Tenant, format, f)
	if errors.Is(err, logs.ErrRateLimited) {
		w.Header().Set("Retry-After", "10")
		return logs.NewError(logs.ErrRateLimited, "", "the tenant has as many exports in progress as it may have at once; retry when one is done")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/logs/export/"+job.ID)
	writeData(w, http.StatusAccepted, exportView(job))
	return nil
}

// parseExportRequest reads {"format": ..., filters...}: a JSON object of
// strings, no other fields.
func parseExportRequest(body []byte) (logexport.Format, logquery.Filter, error) {
	vals, err := parseStringObject(body, exportFields, false, `{"format":"csv","level":"error"}`)
	if err != nil {
		return "", logquery.Filter{}, err
	}
	format, err := logexport.ParseFormat(vals["format"])
	if err != nil {
		return "", logquery.Filter{}, err
	}
	delete(vals, "format")
	f, err := logquery.Raw(vals).Filter()
	if err != nil {
		return "", logquery.Filter{}, err
	}
	return format, f, nil
}

// getExport serves GET /api/v1/logs/export/{exportId}.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request, c *call) error {
	x, err := s.exporter()
	if err != nil {
		return err
	}
	job, err := x.Get(r.Context(), c.Tenant, mux.Vars(r)["exportId"])
	if err != nil {
		if logs.Code(err) == logs.CodeNotFound {
			return logs.NewError(logs.ErrNotFound, "", "no export with this id")
		}
		return err
	}
	writeData(w, http.StatusOK, exportView(job))
	return nil
}

// downloadExport serves GET /api/v1/logs/export/download: the files of
// buckets that cannot sign URLs themselves (file://, mem://). The signed
// query is the credential; there is no bearer token (browsers follow the
// URL as it is).
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request, _ *call) error {
	x, err := s.exporter()
	if err != nil {
		return err
	}
	f, err := x.Download(r.Context(), r.URL)
	if err != nil {
		switch logs.Code(err) {
		case logs.CodePermissionDenied:
			return logs.NewError(logs.ErrPermissionDenied, "", "the download link is invalid or has expired; poll the export again for a fresh one")
		case logs.CodeNotFound:
			return logs.NewError(logs.ErrNotFound, "", "the export file no longer exists")
		}
		return err
	}
	defer f.Body.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	if !f.ModTime.IsZero() {
		h.Set("Last-Modified", f.ModTime.UTC().Format(http.TimeFormat))
	}
	// A large file takes a while: the server's write timeout is for API
	// answers; a download gets as long as its link is valid.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, f.Body); err != nil {
		s.log.Info("loghttp: download interrupted", "requestId", RequestID(r.Context()), "err", err)
	}
	return nil
}
