package reveal

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"

	"example.com/road/secrets"
)

func leak(w http.ResponseWriter, s secrets.Secret, req *http.Request) {
	log.Printf("token %s", s.Reveal())                    // want `PAV104: revealed secret passed to log.Printf`
	slog.Info("login", "password", s.Reveal())            // want `PAV104: revealed secret passed to log/slog.Info`
	_ = fmt.Sprintf("dsn=%s", s.Reveal())                 // want `PAV104: revealed secret passed to fmt.Sprintf`
	_, _ = w.Write(s.RevealBytes())                       // want `PAV104: revealed secret passed to http.ResponseWriter.Write`
	_, _ = io.WriteString(w, "t="+s.Reveal())             // want `PAV104: revealed secret passed to io.WriteString`
	http.Error(w, s.Reveal(), 500)                        // want `PAV104`
	log.Printf("token %v", s)                             // the Secret redacts itself
	req.Header.Set("Authorization", "Bearer "+s.Reveal()) // consumed where it belongs
	tok := s.Reveal()
	log.Println("token", tok) // want `PAV104: revealed secret passed to log.Println`
	fmt.Fprintf(w, "%s", tok) // want `PAV104: revealed secret passed to fmt.Fprintf`
	n := len(s.Reveal())
	log.Println("token length", n) // a length is not the secret
	req.Header.Set("Authorization", "Bearer "+tok)
}
