package prometheus

import (
	"net/http"
	"strings"
	"testing"
)

// A gateway in front of the server refuses a request and quotes what it got in its error
// body: the API key header ("invalid key ..."), the request line (the URL's query string,
// which holds a gateway's subscription-key), or the Authorization header (Basic, from the
// URL's userinfo). The body becomes the query's error, which goes to logs and callers:
// every credential of the config is redacted from it, as the token already is, with or
// without a token configured; the rest of the body stays. So too when the gateway
// answers its refusal as a 200 page in plain text, which the error now quotes.
func TestCredentialsEchoedInAnErrorBodyNeverShown(t *testing.T) {
	const (
		password = "pw-c4nary-9e2f"
		apiKey   = "hdr-c4nary-51d7"
		queryKey = "qry-c4nary-0b3a"
	)
	for _, page := range []bool{false, true} {
		srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
			if page {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte("refused " + r.Header.Get("X-Api-Key") + " for " + r.RequestURI + " with " + r.Header.Get("Authorization")))
				return
			}
			writeJSON(w, http.StatusUnauthorized, `{"status":"error","errorType":"unauthorized","error":"refused `+
				r.Header.Get("X-Api-Key")+` for `+r.RequestURI+` with `+r.Header.Get("Authorization")+`"}`)
		})
		echoedCredentialsNeverShown(t, srv, password, apiKey, queryKey)
	}
}

// echoedCredentialsNeverShown queries srv, which quotes the credentials it got in its
// answer, with and without a token, and requires the error to quote it with every
// credential redacted.
func echoedCredentialsNeverShown(t *testing.T, srv *apiServer, password, apiKey, queryKey string) {
	t.Helper()
	for _, token := range []string{"", secret} {
		config := ClientConfig{
			URL:         "http://reader:" + password + "@" + strings.TrimPrefix(srv.URL, "http://") + "/prom?subscription-key=" + queryKey,
			Headers:     map[string]string{"X-Api-Key": apiKey},
			BearerToken: token,
		}
		a, err := NewAPI(config)
		if err != nil {
			t.Fatal(err)
		}
		r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
		if r.Error == nil {
			t.Fatal("a 401: got no error")
		}
		msg := r.Error.Error()
		if !strings.Contains(msg, "refused "+redacted) {
			t.Errorf("token %q: error %s; want the server's message, the key it quoted redacted", token, msg)
		}
		for _, shown := range []string{password, apiKey, queryKey, "cmVhZGVyOnB3LWM0bmFyeS05ZTJm" /* base64 of reader:password */} {
			if strings.Contains(msg, shown) {
				t.Errorf("token %q: the error shows %q: %s", token, shown, msg)
			}
		}
	}
}
