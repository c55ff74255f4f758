package source

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestQueryListRegisterValidatesAndRefusesDuplicates(t *testing.T) {
	l := NewQueryList()
	ok := QueryTemplate{Name: "q", Type: QueryTypeMetricName, Template: "m", Params: []string{"p"}}
	if err := l.Register(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    QueryTemplate
		want string
	}{
		{ok, `register query "q": already registered`},
		{QueryTemplate{Type: QueryTypeMetricName, Template: "m"}, "Name is empty"},
		{QueryTemplate{Name: "x", Type: QueryTypeMetricName}, `"x": Template is empty`},
		{QueryTemplate{Name: "x", Type: "sql", Template: "m"}, `Type "sql" is not`},
	} {
		if err := l.Register(tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%+v): got %v, want %q", tc.q, err, tc.want)
		}
	}
	got := l.Get("q")
	if got == nil || got.Template != "m" {
		t.Fatalf("Get: got %+v", got)
	}
	got.Params[0] = "changed"
	if again := l.Get("q"); again.Params[0] != "p" {
		t.Fatal("Get returned the registry's own Params slice")
	}
	l.MustRegister(QueryTemplate{Name: "a", Type: QueryTypePromQL, Template: "up"})
	if names := l.List(); !slices.Equal(names, []string{"a", "q"}) {
		t.Fatalf("List: got %v, want [a q]", names)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustRegister of a duplicate did not panic")
		}
	}()
	l.MustRegister(ok)
}

// A template no params can fill is refused at Register, naming the query and the
// problem, instead of failing every Refresh of the query later (or, for a metric name,
// matching nothing: an empty answer with no error). Templates FillTemplate takes are
// accepted, whatever their params.
func TestQueryListRegisterRefusesUnfillableTemplates(t *testing.T) {
	l := NewQueryList()
	for _, tc := range []struct {
		q    QueryTemplate
		want string
	}{
		{QueryTemplate{Name: "unclosed", Type: QueryTypePromQL, Template: `x{model_name="{{.modelID"}`},
			`register query "unclosed": template: "{{" at offset 14 is not closed by }}`},
		{QueryTemplate{Name: "action", Type: QueryTypePromQL, Template: `x{model_name="{{modelID}}"}`},
			`register query "action": template: {{modelID}} is not a {{.param}} placeholder`},
		{QueryTemplate{Name: "pipeline", Type: QueryTypePromQL, Template: `x{m="{{ .a | printf "%s" }}"}`},
			`register query "pipeline": template: {{.a | printf "%s"}} is not a {{.param}} placeholder`},
		{QueryTemplate{Name: "metric_placeholder", Type: QueryTypeMetricName, Template: `vllm:{{.metric}}`},
			`register query "metric_placeholder": Template "vllm:{{.metric}}" holds {{, but a "metric" query is a metric name and is not filled`},
	} {
		if err := l.Register(tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%s %q): got %v, want an error containing %q", tc.q.Name, tc.q.Template, err, tc.want)
		}
	}
	if names := l.List(); len(names) != 0 {
		t.Errorf("refused templates registered: %v", names)
	}
	for i, template := range []string{
		`x{model_name="{{.modelID}}"}`,
		`x{model_name='{{ .modelID }}'}`,
		"x{m=`{{.v}}`}",
		`sum(rate(x[{{.window}}])) > {{.threshold}}`,
		`{{.metric}}_total`,
		"x # {{.note}}\n",
	} {
		if err := l.Register(QueryTemplate{Name: strconv.Itoa(i), Type: QueryTypePromQL, Template: template}); err != nil {
			t.Errorf("Register(%q): %v, want it accepted", template, err)
		}
	}
}

func TestSourceRegistry(t *testing.T) {
	r := NewSourceRegistry()
	var s MetricsSource = stubSource{}
	if err := r.Register("b", s); err != nil {
		t.Fatal(err)
	}
	r.MustRegister("a", s)
	for _, tc := range []struct {
		name string
		s    MetricsSource
		want string
	}{
		{"b", s, `"b": already registered`},
		{"", s, "name is empty"},
		{"c", nil, `"c": source is nil`},
	} {
		if err := r.Register(tc.name, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%q): got %v, want %q", tc.name, err, tc.want)
		}
	}
	if r.Get("a") == nil || r.Get("missing") != nil {
		t.Fatal("Get: want the registered source and nil for an unknown name")
	}
	if got := r.List(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("List: got %v", got)
	}
}

func TestSourceRegistryUpdateAndUnregister(t *testing.T) {
	r := NewSourceRegistry()
	first, second := stubSource{name: "first"}, stubSource{name: "second"}
	for _, tc := range []struct {
		name string
		s    MetricsSource
		want MetricsSource // registered under "epp" afterwards
	}{
		{"epp", first, first},   // not registered: Update registers
		{"epp", second, second}, // registered: Update replaces
	} {
		if err := r.Update(tc.name, tc.s); err != nil {
			t.Fatalf("Update(%q, %v): %v", tc.name, tc.s, err)
		}
		if got := r.Get("epp"); got != tc.want {
			t.Fatalf("after Update(%q, %v): Get got %v, want %v", tc.name, tc.s, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		s    MetricsSource
		want string
	}{
		{"", first, "name is empty"},
		{"x", nil, `update source "x": source is nil`},
	} {
		if err := r.Update(tc.name, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Update(%q, %v): got %v, want %q", tc.name, tc.s, err, tc.want)
		}
	}
	if r.Get("x") != nil {
		t.Fatal("a refused Update registered a source")
	}
	for range 2 { // idempotent
		if err := r.Unregister("epp"); err != nil {
			t.Fatalf("Unregister(epp): %v", err)
		}
		if r.Get("epp") != nil || len(r.List()) != 0 {
			t.Fatalf("after Unregister(epp): Get %v, List %v; want nil and empty", r.Get("epp"), r.List())
		}
	}
	if err := r.Register("epp", first); err != nil {
		t.Fatalf("Register after Unregister: %v", err)
	}
}

func TestQueryListResolve(t *testing.T) {
	l := NewQueryList()
	l.MustRegister(QueryTemplate{Name: "b", Type: QueryTypeMetricName, Template: "b"})
	l.MustRegister(QueryTemplate{Name: "a", Type: QueryTypeMetricName, Template: "a"})
	names := func(qs []QueryTemplate) []string {
		var out []string
		for _, q := range qs {
			out = append(out, q.Name)
		}
		return out
	}
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{"a", "b"}},
		{[]string{"b", "a", "b"}, []string{"a", "b"}},
		{[]string{"b"}, []string{"b"}},
	} {
		got, err := l.Resolve(tc.in)
		if err != nil || !slices.Equal(names(got), tc.want) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, names(got), err, tc.want)
		}
	}
	if _, err := l.Resolve([]string{"a", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown query "nope" (registered: a, b)`) {
		t.Errorf("Resolve of an unknown name: error %v, want one naming it and the registered ones", err)
	}
}
