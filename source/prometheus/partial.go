package prometheus

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrPartialAnswer is wrapped by a query's error when the server answered "success" but
// said that its answer lacks data it holds, so that a sum over it would read as the
// whole: VictoriaMetrics cluster's "isPartial": true (some vmstorage nodes did not
// answer) while the URL does not accept partial answers, or Thanos Query's warning that
// no store matched the query (the answer holds no store's data at all).
var ErrPartialAnswer = errors.New("the server answered from part of its data")

// partialNote is the warning of an answer marked partial that the URL accepts.
const partialNote = `the answer is marked "isPartial": some of the server's storage nodes did not answer (VictoriaMetrics cluster)`

// thanosNoStoreMatched is the warning Thanos Query (before v0.31) answers an empty
// result with when none of its stores matched the query, whatever partial_response says
// (pkg/store/proxy.go, ErrorNoStoresMatched): every sidecar gone from its endpoints.
const thanosNoStoreMatched = "No StoreAPIs matched for this query"

// partialAnswer returns the error of a successful answer that the server said is
// partial (see ErrPartialAnswer), nil for a whole answer or a partial one the URL
// accepts. warnings are the answer's warnings and infos.
func partialAnswer(seen *answered, warnings []string) error {
	for _, w := range warnings {
		if strings.Contains(w, thanosNoStoreMatched) {
			return fmt.Errorf("%w: Thanos Query matched no store for the query (warning %q): the answer holds no store's data", ErrPartialAnswer, w)
		}
	}
	if partial, accepted := seen.wasPartial(); partial && !accepted {
		return fmt.Errorf(`%w: the answer is marked "isPartial": some of the server's storage nodes did not answer (VictoriaMetrics cluster; the URL accepts partial answers with partial_response=true)`, ErrPartialAnswer)
	}
	return nil
}

// partialAccepted reports whether the URL's query string asks for partial answers:
// Thanos' partial_response=true, or VictoriaMetrics' deny_partial_response set to a
// false value (as vmselect reads it, lib/httputil/bool.go: "", 0, f, false, no).
func partialAccepted(q url.Values) bool {
	if accept, err := strconv.ParseBool(q.Get("partial_response")); err == nil && accept {
		return true
	}
	if q.Has("deny_partial_response") {
		switch strings.ToLower(q.Get("deny_partial_response")) {
		case "", "0", "f", "false", "no":
			return true
		}
	}
	return false
}
