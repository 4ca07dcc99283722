package beaconsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// maxControlBody bounds a POST to the faults control.
const maxControlBody = 4 << 10

// APIInfo is one named API view with its URL and faults.
type APIInfo struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Faults Faults `json:"faults"`
}

// Named is an API view with the name and URL the demo gave it.
type Named struct {
	Name string
	URL  string
	API  *API
}

// FaultsHandler is the demo's control of the beacon APIs' faults:
//
//	GET  /demo/beacon/faults  every API with its faults
//	POST /demo/beacon/faults  {"api":"b1","forge":true} sets b1's faults
//	                          (forge, signers, stale, down); {"api":"b1"}
//	                          alone clears them
func FaultsHandler(apis []Named) http.Handler {
	mux := http.NewServeMux()
	list := func() []APIInfo {
		out := make([]APIInfo, len(apis))
		for i, a := range apis {
			out[i] = APIInfo{Name: a.Name, URL: a.URL, Faults: a.API.Faults()}
		}
		return out
	}
	mux.HandleFunc("GET /demo/beacon/faults", func(w http.ResponseWriter, r *http.Request) {
		writeControl(w, http.StatusOK, list())
	})
	mux.HandleFunc("POST /demo/beacon/faults", func(w http.ResponseWriter, r *http.Request) {
		name, f, err := decodeControl(http.MaxBytesReader(w, r.Body, maxControlBody))
		if err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		names := make([]string, 0, len(apis))
		for _, a := range apis {
			if a.Name == name {
				a.API.SetFaults(f)
				writeControl(w, http.StatusOK, APIInfo{Name: a.Name, URL: a.URL, Faults: a.API.Faults()})
				return
			}
			names = append(names, a.Name)
		}
		sort.Strings(names)
		writeControl(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown beacon API %q (APIs: %s)", name, strings.Join(names, ", "))})
	})
	return mux
}

// decodeControl reads {"api":"b1", <faults>} strictly.
func decodeControl(body io.Reader) (string, Faults, error) {
	var req struct {
		API *string `json:"api"`
		Faults
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return "", Faults{}, fmt.Errorf("body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", Faults{}, fmt.Errorf("body must be one JSON object such as {\"api\":\"b1\",\"forge\":true}: %w", err)
	}
	switch {
	case req.API == nil:
		return "", Faults{}, errors.New("api is required: name a beacon API, e.g. b1")
	case req.Signers < 0 || req.Signers > 512:
		return "", Faults{}, fmt.Errorf("signers must be between 0 (all) and 512, got %d", req.Signers)
	}
	return *req.API, req.Faults, nil
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
