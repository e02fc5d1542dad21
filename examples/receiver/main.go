// Command receiver is a log stream's webhook receiver: it checks the
// Standard Webhooks signature of every delivery with the stream's secret,
// drops deliveries it has seen (by webhook-id) and entries it has seen
// (by id: delivery is at least once), and prints the entries.
//
//	WEBHOOK_SECRET=whsec_... go run ./receiver -addr 127.0.0.1:9000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logsink"
)

// receiver remembers the entry ids it printed.
type receiver struct {
	secret string
	out    io.Writer
	mu     sync.Mutex
	seen   map[string]bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	h := r.Header
	if err := logsink.Verify(rc.secret, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"),
		body, time.Now(), 5*time.Minute); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var batch struct {
		Logs []logs.Entry `json:"logs"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		http.Error(w, "not a batch", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, e := range batch.Logs {
		if rc.seen[e.ID] {
			continue
		}
		rc.seen[e.ID] = true
		fmt.Fprintf(rc.out, "%s %s %s %s\n", logs.FormatTime(e.CreatedAt), e.Level, e.Source, e.Message)
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set WEBHOOK_SECRET to the secret the log stream's creation returned")
	}
	log.Printf("receiving log stream deliveries on http://%s/", *addr)
	srv := &http.Server{Addr: *addr, Handler: &receiver{secret: secret, out: os.Stdout, seen: map[string]bool{}},
		ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
