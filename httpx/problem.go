package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentTypeProblem is the media type of RFC 9457 problem details.
const ContentTypeProblem = "application/problem+json"

// A Problem is an RFC 9457 problem details object. It is how every paved
// package reports an error at the HTTP edge. Detail must never echo secret
// input such as a token or password.
type Problem struct {
	// Type is a URI reference that identifies the problem type; empty means
	// "about:blank".
	Type string `json:"type,omitempty"`
	// Title is a short human-readable summary; it defaults to the status
	// text.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Instance identifies this occurrence; paved sets the request ID here
	// when one is known.
	Instance string `json:"instance,omitempty"`
	// Extensions are extra members serialized beside the standard ones
	// (for example "reason" or "retry_after"). Keys that collide with a
	// standard member are ignored.
	Extensions map[string]any `json:"-"`
}

// Error implements error so a Problem can travel through error returns.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return strconv.Itoa(p.Status) + " " + p.Title + ": " + p.Detail
	}
	return strconv.Itoa(p.Status) + " " + p.Title
}

// MarshalJSON writes the standard members followed by the extensions.
func (p *Problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 5+len(p.Extensions))
	for k, v := range p.Extensions {
		m[k] = v
	}
	if p.Type != "" {
		m["type"] = p.Type
	} else {
		delete(m, "type")
	}
	m["title"] = p.Title
	m["status"] = p.Status
	delete(m, "detail")
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	delete(m, "instance")
	if p.Instance != "" {
		m["instance"] = p.Instance
	}
	return json.Marshal(m)
}

// WriteProblem writes p as application/problem+json with status p.Status
// (500 when unset) and title p.Title (the status text when empty). When
// the request carries a request ID from [RequestIDFrom] and p.Instance is
// empty, the ID is used as the instance. p itself is never modified, so
// one Problem value may be written by many requests at once.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	q := *p // the caller's value stays as it was
	if q.Status == 0 {
		q.Status = http.StatusInternalServerError
	}
	if q.Title == "" {
		q.Title = http.StatusText(q.Status)
	}
	if q.Instance == "" && r != nil {
		if id := RequestIDFrom(r.Context()); id != "" {
			q.Instance = "urn:request:" + id
		}
	}
	body, err := q.MarshalJSON()
	if err != nil {
		// An extension that cannot be encoded: keep the standard members.
		q.Extensions = nil
		body, _ = q.MarshalJSON()
	}
	h := w.Header()
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(q.Status)
	_, _ = w.Write(body)
}

// Error writes a problem with only a status and a detail.
func Error(w http.ResponseWriter, r *http.Request, status int, detail string) {
	WriteProblem(w, r, &Problem{Status: status, Detail: detail})
}
