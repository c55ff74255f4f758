package pod

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// token returns the Bearer token for this refresh: BearerToken when set, else the
// Secret's key (surrounding white space trimmed), else "" (no auth). A missing Secret or
// key means no auth; a token a header cannot carry inside is an error naming the Secret
// and key; any other failure to read the Secret is an error naming it and the
// RBAC the read needs, because scraping without the token would fail every pod anyway.
func (s *PodScrapingSource) token(ctx context.Context) (string, error) {
	cfg := &s.config
	if cfg.BearerToken != "" {
		return cfg.BearerToken, nil
	}
	if cfg.MetricsReaderSecretName == "" {
		return "", nil
	}
	key := client.ObjectKey{Namespace: cfg.MetricsReaderSecretNamespace, Name: cfg.MetricsReaderSecretName}
	var secret corev1.Secret
	// client-go logs response bodies through the context's logger at V(8): here the
	// body is the token. Its logs of this one read are dropped.
	if err := s.secretReader.Get(logr.NewContext(ctx, logr.Discard()), key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("read metrics reader secret %s%s: %w", key, rbacHint(err, "get", "secrets", key.Namespace), err)
	}
	token := strings.TrimSpace(string(secret.Data[cfg.MetricsReaderSecretKey]))
	if !httpheader.ValidValue(token) {
		// Sent, it would fail every pod with net/http's "invalid header field value",
		// which names neither the Secret nor the key.
		return "", fmt.Errorf("metrics reader secret %s: key %q holds a newline or another control character a header cannot carry",
			key, cfg.MetricsReaderSecretKey)
	}
	return token, nil
}
