package kubeauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// How long a review's answer is reused: a token's for a minute, an allowed access for
// five, a denied one for 30 s, so a new RoleBinding takes effect within 30 s and a
// revoked one within five minutes: controller-runtime's filter's lifetimes. A rejected
// token is kept for the minute too (answered 401, as kube-rbac-proxy does), where
// controller-runtime keeps none: the API server sets the review's status error on every
// rejection, which controller-runtime answers 500 and does not cache. A token the API
// server rejects is not accepted a moment later, and a flood of bad tokens costs one
// review each a minute.
const (
	tokenTTL   = time.Minute
	allowedTTL = 5 * time.Minute
	deniedTTL  = 30 * time.Second
)

// maxKeptRequest bounds the part of a decision's key that the client chooses, its verb
// and path, in bytes: a decision on a longer request is not kept, and such a request is
// reviewed each time. net/http reads request lines up to 1 MiB and the API server reviews
// a path of any length, so without the bound one token, even one allowed nothing, could
// fill the maxCached decisions with a MiB each (4 GiB); with it they hold at most 4 MiB of
// paths. serve's longest path, /podscrape/api/v1/label/<name>/values, fits with any real
// label name. k8s.io/apiserver's webhook authorizer keeps nothing past 10000 bytes, for
// the same reason.
const maxKeptRequest = 1 << 10

// maxTokenBytes bounds the Bearer token reviewed: a longer one is 401 without a review.
// A ServiceAccount's token is about 1 KiB, an OIDC token with many groups some 10 KiB,
// and nginx's default buffers refuse a header line past 8 KiB. Without the bound a
// client with no token could send tokens of up to the server's header bound, each held
// twice (the header, the review's body) while the reviews queue (up to reviewTimeout at
// reviewQPS), and sent on to the API server.
const maxTokenBytes = 16 << 10

// reviewTimeout bounds each review, its retries included.
const reviewTimeout = 10 * time.Second

// retryBackoff paces the retries of a review that failed as a moment's failure does (see
// transient): controller-runtime's filter, through k8s.io/apiserver's webhook clients,
// retries so, 0.5 s, then 1.5 times longer each time, five tries in all (about 4 s).
var retryBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// transient reports whether a review's error is one that the next try may not meet, as
// k8s.io/apiserver's webhook.DefaultShouldRetry decides: the connection reset or lost
// (an API server restarting behind its load balancer), the API server's 500, a timeout,
// a 429, or an answer that asks to be retried later.
func transient(err error) bool {
	if utilnet.IsConnectionReset(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		apierrors.IsInternalError(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) {
		return true
	}
	_, retry := apierrors.SuggestsClientDelay(err)
	return retry
}

// withRetries calls review until it succeeds, fails other than transiently, the
// retryBackoff's tries are spent, or ctx ends; it returns review's last error.
func withRetries(ctx context.Context, review func() error) error {
	err := ctx.Err() // when ctx ends before the first try
	_ = wait.ExponentialBackoffWithContext(ctx, retryBackoff, func(context.Context) (bool, error) {
		err = review()
		return err == nil || !transient(err), nil
	})
	return err
}

// Filter checks requests against the API server's reviews. It is safe for concurrent use.
type Filter struct {
	tokens    authenticationclient.TokenReviewInterface
	access    authorizationclient.SubjectAccessReviewInterface
	log       logr.Logger
	now       func() time.Time
	audiences []string                                                // a token must be valid for one of them; none: the API server's
	users     ttlCache[[sha256.Size]byte, *authenticationv1.UserInfo] // by tokenKey: no token is kept; nil: rejected
	decisions ttlCache[string, bool]                                  // allowed, by decisionKey; none past maxKeptRequest
}

// reviewQPS and reviewBurst bound the reviews sent, as k8s.io/apiserver's delegated
// authentication and authorization bound theirs ("this will effectively limit API server
// responsiveness"). client-go's defaults, which a kubeconfig or the in-cluster config
// leave, are 5 a second with a burst of 10: every request whose token or access is not
// cached needs a review, and anyone who reaches the port can send made-up tokens, so at
// those a few bad requests a second queued the reviews past reviewTimeout, and every
// client whose answer was not cached got a 500. The API server's priority and fairness
// bounds the reviews' load.
const (
	reviewQPS   = 200
	reviewBurst = 400
)

// New is a Filter whose reviews are sent with cfg, at up to 200 a second (a burst of
// 400) whatever cfg's own rate limit: its identity needs create on tokenreviews and
// subjectaccessreviews. A review that could not be made is logged to log as an error
// (the client gets a 500 that does not say why); a denied access at V(4).
//
// With audiences, a token is accepted only when it is valid for at least one of them,
// as kube-rbac-proxy's --auth-token-audiences and k8s.io/apiserver's delegated
// authentication check it: the TokenReview names them (spec.audiences), and the
// audiences its status says the token is valid for must intersect them. A status that
// names none means a token of the API server's own audience (the TokenReview API's
// documented meaning, and an authenticator that does not check audiences): rejected.
// Without audiences the TokenReview names none, and the API server accepts only a token
// of its own audience. Empty audiences are ignored.
func New(cfg *rest.Config, log logr.Logger, audiences ...string) (*Filter, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = reviewQPS, reviewBurst, nil
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("http client for %s: %w", cfg.Host, err)
	}
	authn, err := authenticationclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("tokenreview client for %s: %w", cfg.Host, err)
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("subjectaccessreview client for %s: %w", cfg.Host, err)
	}
	var auds []string
	for _, a := range audiences {
		if a != "" && !slices.Contains(auds, a) {
			auds = append(auds, a)
		}
	}
	return &Filter{
		tokens:    authn.TokenReviews(),
		access:    authz.SubjectAccessReviews(),
		log:       log,
		now:       time.Now,
		audiences: auds,
	}, nil
}

// Wrap serves h to the requests the reviews allow. No Bearer token, one longer than
// 16 KiB (not reviewed), or one the TokenReview rejects: 401. A user the SubjectAccessReview does not allow: 403. A review
// that failed as a moment's failure does (a connection reset, the API server's 500 or
// 429) is tried again, as controller-runtime's filter does, for up to about 4 s. A review
// that could not be made (the API server unreachable, the filter's own identity not
// allowed to review, a SubjectAccessReview answered both allowed and denied): 500, and
// nothing of it is cached. The answer on a request whose verb and path pass 1 KiB is not
// kept either: such a request is reviewed each time. A refused HTTP/1 request with a
// body has its connection closed, the body read for at most half a second (refuse). h
// gets the request without its Authorization header.
func (f *Filter) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok || len(token) > maxTokenBytes {
			refuse(w, r, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, err := f.authenticate(r.Context(), token)
		if err != nil && r.Context().Err() != nil {
			return // the client went away: nobody to answer, nothing wrong with the server
		}
		if err != nil {
			f.log.Error(err, "TokenReview failed: the request was answered 500", "path", r.URL.Path)
			refuse(w, r, "Authentication failed: the server could not review the token", http.StatusInternalServerError)
			return
		}
		if user == nil {
			refuse(w, r, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb := strings.ToLower(r.Method)
		allowed, err := f.authorize(r.Context(), user, verb, r.URL.Path)
		if err != nil && r.Context().Err() != nil {
			return
		}
		if err != nil {
			f.log.Error(err, "SubjectAccessReview failed: the request was answered 500", "user", user.Username, "verb", verb, "path", r.URL.Path)
			refuse(w, r, "Authorization failed: the server could not review the access of user "+user.Username, http.StatusInternalServerError)
			return
		}
		if !allowed {
			f.log.V(4).Info("access denied", "user", user.Username, "verb", verb, "path", r.URL.Path)
			refuse(w, r, "Authorization denied for user "+user.Username, http.StatusForbidden)
			return
		}
		// The token has done its work: h gets the request without it, so that nothing
		// behind the filter can forward or log it (k8s.io/apiserver's bearer token
		// authenticator drops it too). On a copy: net/http asks a handler not to modify
		// the request it is given.
		r = r.Clone(r.Context())
		r.Header.Del("Authorization")
		h.ServeHTTP(w, r)
	})
}

// refusedBodyWait bounds how long a refused request's body is read after the answer:
// net/http's own wait before closing a connection whose body it does not read (its
// rstAvoidanceDelay).
const refusedBodyWait = 500 * time.Millisecond

// refuse answers r with code and msg, as http.Error does. An HTTP/1 request with a body
// (its Content-Length not 0, or chunked) has its connection closed after the answer, the
// body read for at most refusedBodyWait after it: net/http would otherwise read up to
// 256 KiB of it before the answer, so that the connection could carry a next request,
// for as long as the client takes to send it (up to the server's read timeout), and a
// client allowed nothing, sending its body a byte a minute, would hold one of the
// server's connections for minutes. A body sent at once is read (up to 256 KiB), so that
// its bytes left unread do not make the kernel reset the connection under the answer.
// An HTTP/2 request's stream is reset alone, its connection kept.
func refuse(w http.ResponseWriter, r *http.Request, msg string, code int) {
	if r.ProtoMajor == 1 && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(refusedBodyWait))
	}
	http.Error(w, msg, code)
}

// bearerToken is the request's "Authorization: Bearer TOKEN", as the API server reads it
// (the scheme's case ignored, blanks around the token trimmed).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// tokenKey is the users cache's key of token: a hash of the audiences it is reviewed
// for and of the token, so that an answer for some audiences never stands for others.
func (f *Filter) tokenKey(token string) [sha256.Size]byte {
	h := sha256.New()
	for _, a := range f.audiences {
		fmt.Fprintf(h, "%d:%s,", len(a), a)
	}
	fmt.Fprintf(h, ";%s", token)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// authenticate is the user token belongs to, nil when the TokenReview rejects it or,
// with audiences, finds it valid for none of them.
func (f *Filter) authenticate(ctx context.Context, token string) (*authenticationv1.UserInfo, error) {
	key := f.tokenKey(token)
	now := f.now()
	if user, ok := f.users.get(key, now); ok {
		return user, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	// client-go logs request bodies through the context's logger at V(8): this one's is
	// the token.
	ctx = logr.NewContext(ctx, logr.Discard())
	var review *authenticationv1.TokenReview
	err := withRetries(ctx, func() (err error) {
		review, err = f.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: f.audiences}}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	var user *authenticationv1.UserInfo
	if review.Status.Authenticated && f.audienceValid(review.Status.Audiences) {
		u := review.Status.User // a copy: the review, which echoes the token, is not kept
		user = &u
	} else if review.Status.Authenticated {
		f.log.V(4).Info("token rejected: not valid for the audiences", "user", review.Status.User.Username,
			"audiences", f.audiences, "tokenAudiences", review.Status.Audiences)
	}
	f.users.put(key, user, now, now.Add(tokenTTL))
	return user, nil
}

// audienceValid reports whether a token the TokenReview authenticated as valid for got
// (its status.audiences) is valid for one of f's audiences; without audiences, any is.
func (f *Filter) audienceValid(got []string) bool {
	if len(f.audiences) == 0 {
		return true
	}
	for _, a := range got {
		if slices.Contains(f.audiences, a) {
			return true
		}
	}
	return false
}

// authorize reports whether user may use verb on the non-resource URL path.
func (f *Filter) authorize(ctx context.Context, user *authenticationv1.UserInfo, verb, path string) (bool, error) {
	keep := len(verb)+len(path) <= maxKeptRequest
	var key string
	now := f.now()
	if keep {
		key = decisionKey(user, verb, path)
		if allowed, ok := f.decisions.get(key, now); ok {
			return allowed, nil
		}
	}
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:                  user.Username,
		UID:                   user.UID,
		Groups:                user.Groups,
		Extra:                 extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}
	var review *authorizationv1.SubjectAccessReview
	err := withRetries(ctx, func() (err error) {
		review, err = f.access.Create(ctx, sar, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return false, err
	}
	if review.Status.Allowed && review.Status.Denied {
		// An authorizer chain that contradicts itself is broken, not a pass: an error (a
		// 500, logged, not kept), as k8s.io/apiserver's webhook authorizer answers it.
		return false, fmt.Errorf("subjectaccessreview answered both allowed and denied (reason %q)", review.Status.Reason)
	}
	allowed, ttl := review.Status.Allowed, allowedTTL
	if !allowed {
		ttl = deniedTTL
	}
	if keep {
		f.decisions.put(key, allowed, now, now.Add(ttl))
	}
	return allowed, nil
}

// decisionKey names everything a SubjectAccessReview is asked, as JSON (map keys
// sorted), so that no two questions share a key.
func decisionKey(user *authenticationv1.UserInfo, verb, path string) string {
	key, _ := json.Marshal(struct {
		User, UID, Verb, Path string
		Groups                []string
		Extra                 map[string]authenticationv1.ExtraValue
	}{user.Username, user.UID, verb, path, user.Groups, user.Extra})
	return string(key) // strings, slices and maps of them: Marshal cannot fail
}
