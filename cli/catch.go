package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"kirim/provider"
)

// cmdCatch is a webhook catcher for trying the sandbox (or a provider) by hand: it
// prints every webhook it receives and whether its X-Hub-Signature-256 verifies.
func cmdCatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("catch", "kirim catch [--listen ADDR] [--app-secret S]", "Prints every webhook it receives and whether its X-Hub-Signature-256 verifies.")
	listen := fs.String("listen", "127.0.0.1:9999", "address to listen on")
	secret := fs.String("app-secret", "", "app secret to verify X-Hub-Signature-256 with")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	catch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, "cannot read", http.StatusBadRequest)
			return
		}
		verdict := "signature OK"
		if !provider.VerifySignature(*secret, body, r.Header.Get(provider.SignatureHeader)) {
			verdict = "signature BAD"
		}
		fmt.Fprintf(stdout, "%s %s %s (%s)\n%s\n\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.Path, verdict, body)
	})
	fmt.Fprintf(stdout, "kirim catch: listening on http://%s\n", ln.Addr())
	return serveUntilSignal(ctx, catch, ln)
}
