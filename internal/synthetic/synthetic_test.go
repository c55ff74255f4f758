package synthetic

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// A selector of only synthetic names, as an equality or as a regular expression of a set
// of them, is one; a selector that may match another name is not, even when it also
// names a synthetic one or is a pattern only synthetic names happen to match today.
func TestOnly(t *testing.T) {
	for sel, want := range map[string]bool{
		`up`:                      true,
		`scrape_duration_seconds`: true,
		`{__name__=~"up"}`:        true,
		`{__name__=~"up|scrape_samples_scraped"}`:                         true,
		`{__name__=~"up|scrape_duration_seconds|scrape_samples_scraped"}`: true,
		`{__name__!="x", __name__="up"}`:                                  true,
		`{__name__=~".+", __name__=~"up"}`:                                true,
		`up{pod="a"}`:                                                     true,
		`waiting`:                                                         false,
		`{__name__=~"up|waiting"}`:                                        false,
		`{__name__=~"up.*"}`:                                              false,
		`{__name__=~"(?i)up"}`:                                            false,
		`{__name__!="up"}`:                                                false,
		`{__name__!~"waiting"}`:                                           false,
		`{pod="up"}`:                                                      false,
	} {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		if got := Only(ms); got != want {
			t.Errorf("Only(%s) = %v, want %v", sel, got, want)
		}
	}
}

// Not matches every name but the synthetic ones.
func TestNot(t *testing.T) {
	for _, n := range Names {
		if Not.Matches(n) {
			t.Errorf("Not matches %q, a synthetic name", n)
		}
	}
	for _, n := range []string{"waiting", "upx", "xup", "scrape_samples_scraped_total", ""} {
		if !Not.Matches(n) {
			t.Errorf("Not does not match %q", n)
		}
	}
}
