package devnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxFaultsBody caps a POST /demo/faults body.
const maxFaultsBody = 64 << 10

// Handler serves the demo control endpoints, for the gateway to mount on
// its own listener:
//
//	GET  /demo/info    Info as JSON
//	GET  /demo/faults  every provider with its faults
//	POST /demo/faults  {"provider":"p2","down":true,…} sets p2's faults;
//	                   {"provider":"p2"} alone clears them
func (d *Devnet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Info())
	})
	mux.HandleFunc("GET /demo/faults", func(w http.ResponseWriter, r *http.Request) {
		list := make([]ProviderInfo, 0, len(d.providers))
		for _, p := range d.providers {
			list = append(list, p.Info())
		}
		writeJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("POST /demo/faults", d.postFaults)
	return mux
}

// faultsRequest is the body of POST /demo/faults: a provider name and the
// faults it should have from now on (absent fields are off).
type faultsRequest struct {
	Provider *string `json:"provider"`
	Faults
}

func (d *Devnet) postFaults(w http.ResponseWriter, r *http.Request) {
	req, err := decodeFaults(http.MaxBytesReader(w, r.Body, maxFaultsBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	p := d.Provider(*req.Provider)
	if p == nil {
		names := make([]string, len(d.providers))
		for i, p := range d.providers {
			names[i] = p.Name
		}
		writeError(w, http.StatusNotFound, fmt.Errorf("unknown provider %q (providers: %s)",
			*req.Provider, strings.Join(names, ", ")))
		return
	}
	p.SetFaults(req.Faults)
	d.log.Info("devnet: faults set", "provider", p.Name, "faults", req.Faults)
	writeJSON(w, http.StatusOK, p.Info())
}

// decodeFaults decodes a POST /demo/faults body strictly: one JSON object,
// known fields only, with a provider and faults in range.
func decodeFaults(body io.Reader) (faultsRequest, error) {
	var req faultsRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return req, fmt.Errorf("body larger than %d bytes", tooBig.Limit)
		case errors.Is(err, io.EOF):
			return req, errors.New(`empty body: want {"provider":"p1", …faults}`)
		}
		return req, fmt.Errorf("invalid body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return req, errors.New("invalid body: want a single JSON object")
	}
	if req.Provider == nil || *req.Provider == "" {
		return req, errors.New(`missing "provider"`)
	}
	if err := req.Faults.Validate(); err != nil {
		return req, err
	}
	return req, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
