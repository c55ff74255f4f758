package serve

import (
	"reflect"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source/pod"
)

// TestSourceKeysNameRealFieldsAndKeys: each entry of sourceKeys maps a field of
// pod.PodScrapingSourceConfig (as a *pod.ConfigError names it) to a key of FileService,
// and each key of the file that sets a source field is in it: a misspelt or missing
// entry puts the source's refusal of that key at the Service's line, naming no key.
func TestSourceKeysNameRealFieldsAndKeys(t *testing.T) {
	keys := map[string]bool{}
	typ := reflect.TypeFor[FileService]()
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		keys[key] = true
	}
	mapped := map[string]bool{}
	for field, key := range sourceKeys {
		if _, ok := reflect.TypeFor[pod.PodScrapingSourceConfig]().FieldByName(field); !ok {
			t.Errorf("sourceKeys: %s is no field of pod.PodScrapingSourceConfig", field)
		}
		if !keys[key] {
			t.Errorf("sourceKeys: %s maps to %s, no key of FileService", field, key)
		}
		mapped[key] = true
	}
	// The keys that set no source field: serve's own.
	for _, own := range []string{"interval", "seriesLimit"} {
		delete(keys, own)
	}
	for key := range keys {
		if !mapped[key] {
			t.Errorf("the file's key %s sets a source field, but no entry of sourceKeys maps a field to it", key)
		}
	}
}
