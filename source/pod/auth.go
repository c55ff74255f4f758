package pod

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// bearer is what a refresh sends as its Bearer token, and why it sends none when the
// configured Secret or token file gave none.
type bearer struct {
	token string
	// missing says why the configured Secret or file gave no token ("Secret ns/name not
	// found", "Secret ns/name has no key "k" (keys: a, b)", "bearer token file f is
	// empty"): the guide wants no auth and no error then, but a pod that refuses the
	// scrape should say why nothing was sent. Empty when a token was found or neither is
	// configured. Key names only: never a value.
	missing string
}

// maxListedKeys bounds the key names a missing key's message lists.
const maxListedKeys = 10

// token returns the Bearer token for this refresh: BearerToken when set, else the
// BearerTokenFile's content (see readTokenFile), else the Secret's key (surrounding
// white space trimmed), else none (no auth). A missing Secret
// or key means no auth, its reason kept in bearer.missing; a token a header cannot carry
// inside is an error naming the Secret and key; any other failure to read the Secret is
// an error naming it and the RBAC the read needs, because scraping without the token
// would fail every pod anyway; except when the API server could not answer (down,
// unreachable, overloaded: not a refusal, nor a Secret that changed), when the token last
// read from the Secret is sent again, as a kubelet keeps a mounted Secret through an
// outage: the pods still take it, and an upgrade of the control plane would otherwise
// fail every scrape of a Service with a Secret (serve: 503 for every query reading it).
func (s *PodScrapingSource) token(ctx context.Context) (bearer, error) {
	cfg := &s.config
	if cfg.BearerToken != "" {
		return bearer{token: cfg.BearerToken}, nil
	}
	if cfg.BearerTokenFile != "" {
		return readTokenFile(cfg.BearerTokenFile)
	}
	if cfg.MetricsReaderSecretName == "" {
		return bearer{}, nil
	}
	key := client.ObjectKey{Namespace: cfg.MetricsReaderSecretNamespace, Name: cfg.MetricsReaderSecretName}
	var secret corev1.Secret
	read, cancel := context.WithTimeout(ctx, apiReadTimeout)
	defer cancel()
	// client-go logs response bodies through the context's logger at V(8): here the
	// body is the token. Its logs of this one read are dropped.
	if err := s.secretReader.Get(logr.NewContext(read, logr.Discard()), key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			s.lastSecret.Store(nil)
			return bearer{missing: fmt.Sprintf("Secret %s not found", key)}, nil
		}
		if last := s.lastSecret.Load(); last != nil && ctx.Err() == nil && apiUnavailable(err) {
			logr.FromContextOrDiscard(ctx).Info("reading the metrics reader Secret failed; sending the token last read from it",
				"secret", key.String(), "error", err.Error())
			return *last, nil
		}
		return bearer{}, fmt.Errorf("read metrics reader secret %s%s: %w", key, apiHint(ctx, read, err, "get", "secrets", key.Namespace), err)
	}
	s.lastSecret.Store(nil) // the Secret answered: what it holds now decides
	value, ok := secret.Data[cfg.MetricsReaderSecretKey]
	if !ok {
		return bearer{missing: fmt.Sprintf("Secret %s has no key %q (%s)", key, cfg.MetricsReaderSecretKey, keyNames(secret.Data))}, nil
	}
	token := strings.TrimSpace(string(value))
	switch {
	case token == "":
		return bearer{missing: fmt.Sprintf("Secret %s key %q is empty", key, cfg.MetricsReaderSecretKey)}, nil
	case !httpheader.ValidValue(token):
		// Sent, it would fail every pod with net/http's "invalid header field value",
		// which names neither the Secret nor the key.
		return bearer{}, fmt.Errorf("metrics reader secret %s: key %q holds a newline or another control character a header cannot carry",
			key, cfg.MetricsReaderSecretKey)
	}
	b := bearer{token: token}
	s.lastSecret.Store(&b)
	return b, nil
}

// apiUnavailable reports whether err is the API server's failure to answer (a connection
// refused or cut, a timeout, 429, 500, 503), not its answer (Forbidden, Unauthorized,
// NotFound, a bad request): only then may a token read before stand in for the Secret.
func apiUnavailable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // no answer at all: a dial, TLS or read error, a deadline
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err)
}

// keyNames lists a Secret's key names, sorted, at most maxListedKeys of them: "keys: a,
// b", "no keys".
func keyNames(data map[string][]byte) string {
	if len(data) == 0 {
		return "no keys"
	}
	names := slices.Sorted(maps.Keys(data))
	if len(names) > maxListedKeys {
		return fmt.Sprintf("keys: %s, and %d more", strings.Join(names[:maxListedKeys], ", "), len(names)-maxListedKeys)
	}
	return "keys: " + strings.Join(names, ", ")
}
