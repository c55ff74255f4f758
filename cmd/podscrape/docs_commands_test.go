package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/promserver"
)

// docCommand is a podscrape command line found in the documentation.
type docCommand struct {
	where  string   // file:line
	line   string   // as written
	args   []string // after the program name
	pipeTo []string // the command its output is piped to, if any (promtool check metrics)
}

// docPrograms are the ways the docs invoke the binary.
var docPrograms = [][]string{
	{"kubectl", "podscrape"}, {"go", "run", "./cmd/podscrape"}, {"bin/podscrape"}, {"podscrape"},
}

// placeholder is a word of a synopsis (SERVICE, PORT, NAME=VALUE, [flags]), not of a
// command one can type.
var placeholder = regexp.MustCompile(`^(\[.*|[A-Z][A-Z_]*(=[A-Z_]+)?(\.\.\.)?|\.\.\.|…)$`)

// b2i is 1 for true.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// docCommands returns every podscrape command line of the Markdown files: in code blocks
// and in inline code, backslash continuations joined, each command of a pipe or && list
// on its own, synopses (with placeholders) left out.
func docCommands(t *testing.T, files ...string) []docCommand {
	t.Helper()
	var out []docCommand
	inline := regexp.MustCompile("`([^`]+)`")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		inBlock := false
		for i := 0; i < len(lines); i++ {
			line, n := lines[i], i
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inBlock = !inBlock
				continue
			}
			var texts []string
			if inBlock {
				for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
					i++
					line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
				}
				texts = []string{strings.TrimSpace(line)}
			} else {
				for _, m := range inline.FindAllStringSubmatch(line, -1) {
					texts = append(texts, m[1])
				}
			}
			for _, text := range texts {
				words, ok := shellWords(text)
				if !ok {
					continue
				}
				for seg, pipeTo := range splitCommands(words) {
					args, ok := afterProgram(seg)
					// Inline code in prose also names commands and flags ("podscrape query
					// --watch keeps the history"): a whole command line has more words.
					if !ok || len(args) < 1+2*b2i(!inBlock) || slices.ContainsFunc(args, placeholder.MatchString) {
						continue
					}
					out = append(out, docCommand{where: filepath.Base(file) + ":" + strconv.Itoa(n+1), line: strings.Join(seg, " "), args: args, pipeTo: pipeTo})
				}
			}
		}
	}
	return out
}

// splitCommands yields the commands of a list of words split at |, &&, || and ;, each
// with the command a | after it pipes its output to (nil if none).
func splitCommands(words []string) func(func(seg, pipeTo []string) bool) {
	isOp := func(w string) bool { return w == "|" || w == "&&" || w == "||" || w == ";" }
	return func(yield func(seg, pipeTo []string) bool) {
		start := 0
		for i := 0; i <= len(words); i++ {
			if i < len(words) && !isOp(words[i]) {
				continue
			}
			var pipeTo []string
			if i < len(words) && words[i] == "|" {
				end := i + 1
				for end < len(words) && !isOp(words[end]) {
					end++
				}
				pipeTo = words[i+1 : end]
			}
			if i > start && !yield(words[start:i], pipeTo) {
				return
			}
			start = i + 1
		}
	}
}

// helpExamples writes the Examples of every podscrape command's help to a Markdown file
// each, in a code block, for docCommands: what --help shows a person to type.
func helpExamples(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, cmd := range newRootCommand(io.Discard, io.Discard).Commands() {
		if cmd.Example == "" {
			continue
		}
		file := filepath.Join(dir, "help-"+cmd.Name()+".md")
		if err := os.WriteFile(file, []byte("```\n"+cmd.Example+"\n```\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	if len(files) < 3 {
		t.Fatalf("found examples in the help of %d commands, want scrape, query and serve's", len(files))
	}
	return files
}

// afterProgram returns the words after a podscrape invocation that starts words.
func afterProgram(words []string) ([]string, bool) {
	for _, p := range docPrograms {
		if len(words) >= len(p) && slices.Equal(words[:len(p)], p) {
			return words[len(p):], true
		}
	}
	return nil, false
}

// shellWords splits s as a POSIX shell does for the docs' needs: single and double
// quotes, backslash escapes, a # word starting a comment, and |, &&, || and ; as words of
// their own. It reports false for an unterminated quote.
func shellWords(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			return words, true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '|' || c == ';' || (c == '&' && i+1 < len(s) && s[i+1] == '&'):
			flush()
			op := string(c)
			if i+1 < len(s) && s[i+1] == c {
				op += string(c)
				i++
			}
			words = append(words, op)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, true
}

// runnable returns the arguments a documented command runs with against the tests'
// control plane, and whether it ends by itself: another cluster's --context is dropped
// (the tests' kubeconfig stands for it); the demo, the server and a Prometheus server
// this test does not start are left to their own tests.
func runnable(args []string) (run []string, watch, ok bool) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "demo", "serve", "--prometheus", "--help", "-h":
			return nil, false, false
		case "--context":
			i++
			continue
		case "--watch":
			watch = true
		}
		run = append(run, args[i])
	}
	return run, watch, true
}

// firstFrame is a stdout that ends the command's context once the command has written
// a whole frame: a watch ends as at Ctrl-C, after its first refresh.
type firstFrame struct {
	mu     sync.Mutex
	b      strings.Builder
	cancel context.CancelFunc
}

func (w *firstFrame) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.cancel()
	return len(p), nil
}

func (w *firstFrame) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestDocsCommandLinesRun checks every podscrape command line of docs/*.md, README.md
// and the commands' --help examples against the CLI: each parses (its command exists,
// its flags are flags of that command with values of their type, its arguments are as
// many as the command takes), and each that can run here runs against the tests'
// control plane, whose llm-d install is the one the docs speak of, and exits 0; output
// piped to promtool passes it (the real promtool, with the documented flags).
func TestDocsCommandLinesRun(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../README.md")
	cmds := docCommands(t, append(files, helpExamples(t)...)...)
	if len(cmds) < 10 {
		t.Fatalf("found %d command lines in the docs, want at least 10: is the extraction broken?", len(cmds))
	}
	ran := 0
	for _, c := range cmds {
		root := newRootCommand(io.Discard, io.Discard)
		cmd, rest, err := root.Find(c.args)
		if err != nil || cmd == root {
			t.Errorf("%s: %s: no such command (%v)", c.where, c.line, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %s: %v", c.where, c.line, err)
			continue
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("%s: %s: %v", c.where, c.line, err)
			continue
		}
		args, watch, ok := runnable(c.args)
		if !ok {
			continue
		}
		ran++
		t.Run(c.where, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout io.Writer = &bytes.Buffer{}
			if watch {
				stdout = &firstFrame{cancel: cancel}
			}
			var stderr bytes.Buffer
			code := run(ctx, append([]string{"--kubeconfig", kubeconfig}, args...), stdout, &stderr)
			out := stdout.(fmt.Stringer).String()
			if code != exitOK || (watch && out == "") {
				t.Fatalf("%s: exit %d and %d bytes of output, want 0 and output; stderr:\n%s", c.line, code, len(out), stderr.String())
			}
			// The docs' metric names are today's: the install the tests run serves them.
			for _, none := range []string{"No samples matched.", "No series: the query matched nothing."} {
				if strings.Contains(out, none) {
					t.Errorf("%s: %q: the documented metric names are not the llm-d install's", c.line, none)
				}
			}
			if len(c.pipeTo) > 0 && c.pipeTo[0] == "promtool" {
				pt := exec.Command(promserver.MustPromtool(t), c.pipeTo[1:]...)
				pt.Stdin = strings.NewReader(out)
				if b, err := pt.CombinedOutput(); err != nil {
					t.Errorf("%s | %s: %v, want success; promtool said:\n%s", c.line, strings.Join(c.pipeTo, " "), err, b)
				}
			}
		})
	}
	t.Logf("%d documented command lines parsed, %d run", len(cmds), ran)
}
