package main

import (
	"regexp"

	"github.com/spf13/cobra"
)

// commandLine matches a command line of help text: "podscrape ..." at the start of a line,
// after its indentation.
var commandLine = regexp.MustCompile(`(?m)^(\s*)podscrape `)

// asKubectlPlugin makes root's help and usage say "kubectl podscrape", the command a
// person types when kubectl runs the binary as its plugin: the usage lines, and every
// example and command line of the help texts. Call it once every command is added.
func asKubectlPlugin(root *cobra.Command) {
	root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl podscrape"}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Example = commandLine.ReplaceAllString(c.Example, "${1}kubectl podscrape ")
		c.Long = commandLine.ReplaceAllString(c.Long, "${1}kubectl podscrape ")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
