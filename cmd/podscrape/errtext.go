package main

import (
	"strings"

	"github.com/podscrape/podscrape/source"
)

// errorText renders err for a terminal, as kubectl-style tools render errors.Join: an
// error that lists failed pods (every pod failed) ends its first line at the colon that
// introduces them, then gives each pod's error on a line of its own, indented; every
// other line break of the text is indented too, so continuation lines never read as a
// new message.
func errorText(err error) string {
	text := err.Error()
	if pods := source.PodErrors(err); len(pods) > 1 || (len(pods) == 1 && strings.Contains(text, "\n")) {
		if i := strings.Index(text, pods[0].Error()); i > 0 {
			text = strings.TrimRight(text[:i], " ") + "\n" + text[i:]
		}
	}
	return strings.ReplaceAll(text, "\n", "\n  ")
}
