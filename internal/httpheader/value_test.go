package httpheader

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// ValidValue agrees with net/http's transport on every byte: what it accepts the
// transport sends, and what it refuses the transport refuses with "invalid header field
// value", so a caller that checks first never meets that error at request time.
func TestValidValueAgreesWithTheTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for b := 0; b < 256; b++ {
		value := "Bearer a" + string([]byte{byte(b)}) + "b"
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", value)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
		} else if !strings.Contains(err.Error(), "invalid header field value") {
			t.Fatalf("byte %#x: %v", b, err)
		}
		if got, want := ValidValue(value), err == nil; got != want {
			t.Errorf("ValidValue with byte %#x: got %v, want %v (the transport's error: %v)", b, got, want, err)
		}
	}
}

func TestValidValue(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", true},
		{"abc.def-ghi_jkl", true},
		{"a\tb", true},
		{"é", true},
		{"abc\n", false},
		{"\r\nabc", false},
		{"ab\x00c", false},
		{"ab\x7fc", false},
	} {
		if got := ValidValue(tc.value); got != tc.want {
			t.Errorf("ValidValue(%q): got %v, want %v", tc.value, got, tc.want)
		}
	}
}
