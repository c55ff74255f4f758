// Package httpheader checks values before they go into an HTTP request header, by the
// rule net/http's transport applies when it sends them. A value it refuses fails each
// request with "net/http: invalid header field value", which names no setting; checking
// where the value comes from (a config field, a Secret, a token file) lets the error
// name that instead. ReadTokenFile reads a bearer token from a file by the same rule,
// bounded, for both backends.
package httpheader
