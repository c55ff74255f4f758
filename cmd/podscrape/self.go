package main

import "strings"

// selfCommand is how to run this podscrape again from the same directory, for the
// commands the demo prints, given os.Args[0]: the path it was started by (bin/podscrape,
// ./podscrape, /usr/local/bin/podscrape), quoted for a shell when it needs to be; its
// bare name when it was found in PATH; go run ./cmd/podscrape under go run, whose
// binary is deleted on exit.
func selfCommand(arg0 string) string {
	switch {
	case strings.Contains(arg0, "/go-build"):
		return "go run ./cmd/podscrape"
	case !strings.ContainsRune(arg0, '/'):
		return arg0
	}
	return shellQuote(arg0)
}

// shellQuote quotes s for a POSIX shell unless it is made only of characters that need
// no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+:@%=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
