package source

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// hostile are model IDs that try to change the query they are put in.
var hostile = []string{
	"Qwen/Qwen3-0.6B",
	`a"} or vector(1) or x{b="`,
	`a'} or vector(1) or x{b='`,
	`back\slash\`,
	`\"`,
	"line\nbreak\r\ttab",
	"ctrl\x00\x01\x7f",
	"invalid utf8 \xff\xfe",
	"granite-\ufffd-8b", // U+FFFD, valid but refused raw by Prometheus' lexer
	"ünïcödé 模型",
	"",
}

// matcherValue parses expr with Prometheus' parser and returns the value of its first
// matcher on label.
func matcherValue(t *testing.T, expr, label string) string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("filled query does not parse: %v\n%s", err, expr)
	}
	sels := parser.ExtractSelectors(e)
	if len(sels) != 1 {
		t.Fatalf("filled query %s has %d selectors, want 1: a value changed its shape", expr, len(sels))
	}
	for _, m := range sels[0] {
		if m.Name == label {
			return m.Value
		}
	}
	t.Fatalf("filled query %s has no matcher on %s", expr, label)
	return ""
}

func TestFillTemplateEscapesValuesInStrings(t *testing.T) {
	for _, tmpl := range []string{
		`max by (pod) (vllm:num_requests_waiting{namespace="ns",model_name="{{.modelID}}"})`,
		`max by (pod) (vllm:num_requests_waiting{namespace="ns",model_name='{{ .modelID }}'})`,
		`sum(x{model_name="prefix-{{.modelID}}-suffix"})`,
	} {
		for _, v := range hostile {
			q := QueryTemplate{Name: "q", Type: QueryTypePromQL, Template: tmpl, Params: []string{ParamModelID}}
			got, err := FillTemplate(q, map[string]string{ParamModelID: v, "unused": "x"})
			if err != nil {
				t.Fatalf("FillTemplate(%q, %q): %v", tmpl, v, err)
			}
			want := v
			if strings.Contains(tmpl, "prefix-") {
				want = "prefix-" + v + "-suffix"
			}
			if mv := matcherValue(t, got, "model_name"); mv != want {
				t.Errorf("template %s with %q: matcher value = %q, want %q", tmpl, v, mv, want)
			}
		}
	}
}

// A value holding U+FFFD (a label value mangled upstream, copied back as a param) is
// escaped as \ufffd in a string literal: written raw, Prometheus' lexer refuses it
// ("invalid UTF-8 rune"), even though it is valid UTF-8. A raw `…` literal has no
// escapes: such a value, or one of invalid UTF-8, is refused there.
func TestFillTemplateReplacementCharacter(t *testing.T) {
	const v = "granite-\ufffd-8b"
	for _, tmpl := range []string{`x{m="{{.v}}"}`, `x{m='{{.v}}'}`} {
		got, err := FillTemplate(QueryTemplate{Name: "q", Template: tmpl}, map[string]string{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, `granite-\ufffd-8b`) {
			t.Errorf("%s: got %s, want U+FFFD written as \\ufffd", tmpl, got)
		}
		if mv := matcherValue(t, got, "m"); mv != v {
			t.Errorf("%s: matcher value = %q, want %q", tmpl, mv, v)
		}
	}
	for _, bad := range []string{v, "invalid \xff"} {
		_, err := FillTemplate(QueryTemplate{Name: "q", Template: "x{m=`{{.v}}`}"}, map[string]string{"v": bad})
		if err == nil || !strings.Contains(err.Error(), "raw `…` string") {
			t.Errorf("raw literal with %q: error = %v, want it refused naming the raw string", bad, err)
		}
	}
}

func TestFillTemplateOutsideStrings(t *testing.T) {
	q := QueryTemplate{
		Name:     "model_request_count",
		Type:     QueryTypePromQL,
		Template: `sum(increase(vllm:request_success_total{namespace="{{.namespace}}",model_name="{{.modelID}}"}[{{.retentionPeriod}}]))`,
		Params:   []string{ParamNamespace, ParamModelID, "retentionPeriod"},
	}
	got, err := FillTemplate(q, map[string]string{ParamNamespace: "llm-d", ParamModelID: "m", "retentionPeriod": "1h30m"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `sum(increase(vllm:request_success_total{namespace="llm-d",model_name="m"}[1h30m]))`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// In a range's brackets only a duration: "5m:1m" would make the range a subquery.
	for _, bad := range []string{"5m]) or vector(1", "5m ", "", "1h\n", "5m:1m", "m5", "5m_"} {
		_, err := FillTemplate(q, map[string]string{ParamNamespace: "llm-d", ParamModelID: "m", "retentionPeriod": bad})
		if err == nil || !strings.Contains(err.Error(), `"retentionPeriod"`) || !strings.Contains(err.Error(), `"model_request_count"`) {
			t.Errorf("retentionPeriod %q: error = %v, want one naming the query and the parameter", bad, err)
		}
	}
}

func TestFillTemplateSubqueryBrackets(t *testing.T) {
	// A subquery's range and step are each a placeholder of their own; a colon in the
	// template is code, a colon in a value is refused. After the brackets, names again.
	q := QueryTemplate{Name: "q", Template: `max_over_time(rate(x[{{.r}}])[{{.w}}:{{.s}}]) > {{.m}}`}
	got, err := FillTemplate(q, map[string]string{"r": "1m", "w": "10m", "s": "30s", "m": "vllm:threshold"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `max_over_time(rate(x[1m])[10m:30s]) > vllm:threshold`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := FillTemplate(q, map[string]string{"r": "1m", "w": "10m:1m", "s": "30s", "m": "1"}); err == nil {
		t.Error("a colon in a range's value was accepted")
	}
}

func TestFillTemplateErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
		params   []string
		values   map[string]string
		want     string
	}{
		{"listed param missing", `x{a="{{.a}}"}`, []string{"a", "b"}, map[string]string{"a": "1"}, `parameter "b" is missing`},
		{"placeholder param missing", `x{a="{{.a}}"}`, nil, map[string]string{}, `parameter "a" is missing`},
		{"unclosed", `x{a="{{.a"}`, nil, map[string]string{"a": "1"}, "not closed"},
		{"not a placeholder", `x{a="{{ printf "%s" .a }}"}`, nil, map[string]string{"a": "1"}, "not a {{.param}} placeholder"},
		{"backtick in raw string", "x{a=`{{.a}}`}", nil, map[string]string{"a": "`"}, "backtick"},
		{"line break in comment", "x # {{.a}}\n", nil, map[string]string{"a": "\nvector(1)"}, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := QueryTemplate{Name: "the_query", Type: QueryTypePromQL, Template: tt.template, Params: tt.params}
			_, err := FillTemplate(q, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"the_query"`) {
				t.Errorf("error = %v, want one naming the query and containing %q", err, tt.want)
			}
		})
	}
}

func TestFillTemplateEscapedQuoteKeepsContext(t *testing.T) {
	// The \" inside the first literal does not end it, so the placeholder after the
	// literal stands in code and a hostile value is refused.
	q := QueryTemplate{Name: "q", Template: `x{a="\"{{.a}}"} > {{.n}}`}
	got, err := FillTemplate(q, map[string]string{"a": `"`, "n": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if mv := matcherValue(t, got, "a"); mv != `""` {
		t.Errorf("matcher value = %q, want %q", mv, `""`)
	}
	if _, err := FillTemplate(q, map[string]string{"a": "x", "n": "1 or vector(1)"}); err == nil {
		t.Error("a value outside strings that changes the query was accepted")
	}
}

func TestQueryListBuild(t *testing.T) {
	l := NewQueryList()
	l.MustRegister(QueryTemplate{Name: "queue", Type: QueryTypePromQL, Template: `q{model_name="{{.modelID}}"}`, Params: []string{ParamModelID}})
	got, err := l.Build("queue", map[string]string{ParamModelID: `m"x`})
	if err != nil {
		t.Fatal(err)
	}
	if want := `q{model_name="m\"x"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := l.Build("nope", nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Build of an unknown query: error = %v, want one naming it", err)
	}
	if got := EscapePromQLValue("a\\b\"c\n"); got != `a\\b\"c\n` {
		t.Errorf("EscapePromQLValue = %s, want %s", got, `a\\b\"c\n`)
	}
}
