package history

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
)

// NarrowRates evaluates the expression it prints (parser's String()), not the user's: the
// text must parse to the user's tree but for the narrowed ranges. Over every expression
// of Prometheus' own PromQL test files (every construct the engine is tested with: UTF-8
// and quoted names, @ and negative offsets, duration expressions, bool, on/ignoring and
// group_left with labels, without, topk's parameter, escaped strings, hex and exponent
// numbers, Inf and NaN, subqueries, anchored and smoothed selectors) and a few more, the
// narrowed text parses to the parsed expression with those ranges moved, positions,
// matcher order, parentheses around a duration and a unary plus aside.
func TestNarrowedTextParsesToTheNarrowedTree(t *testing.T) {
	exprs := []string{
		`rate({"my.metric", "a.b"="c\"d\\e\n"}[5m] offset -1m) > bool on ("a.b") group_left ("c.d") y`,
		`sum without ("a.b", c) (rate(x{a=~"\\d+\\.",b!~` + "`\\w`" + `}[5m] @ 100.123))`,
		`topk(scalar(y), rate(x[5m*2] offset -(1m))) * 0x1f + 1e3 - Inf + NaN`,
		`label_replace(rate(x[5m]), "dst", "$1\\x", "src", "(.*)") # a comment`,
		`-rate(x[5m]) ^ 2 ^ 3 - (1 - 2) and on () vector(1) unless y or z`,
		`max_over_time((rate(x[5m]))[10m:] offset -1m) / rate(x[min_of(5m, 1h)] anchored)`,
		`absent(rate(x[5m] smoothed offset 1m)) + count(rate(x[1d1ms])) + quantile(0.9, rate(x[90]))`,
	}
	files, err := filepath.Glob(filepath.Join(promqltestData(t), "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promqltest files: %v", err)
	}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(content), "\n") {
			if e, ok := evalExpr(line); ok {
				exprs = append(exprs, e)
			}
		}
	}
	at := t0.Add(time.Hour)
	parsed, moves := 0, 0
	for _, expr := range exprs {
		want, err := Parse(expr)
		if err != nil {
			continue // a test of a parse error, or of a feature the engine does not enable
		}
		parsed++
		// Each window moved to start a second before its end.
		first := func(_ int, w Window) (time.Time, bool) { return at.Add(-w.Offset - time.Second), true }
		got, moved, err := NarrowRates(expr, at, first)
		if err != nil {
			t.Fatalf("NarrowRates(%s): %v", expr, err)
		}
		if !moved {
			got = want.String() // the printer alone
		} else {
			moves++
			for _, w := range Windows(want) {
				if w.Narrowable() && w.Range > time.Second+time.Millisecond {
					w.matrix.Range, w.matrix.RangeExpr = time.Second+time.Millisecond, nil
				}
			}
		}
		e, err := Parse(got)
		if err != nil {
			t.Errorf("%s\n\tprinted %s, which does not parse: %v", expr, got, err)
			continue
		}
		if d := treeDiff(reflect.ValueOf(want), reflect.ValueOf(e), "expr"); d != "" {
			t.Errorf("%s\n\tprinted %s\n\tparses to another tree: %s", expr, got, d)
		}
	}
	t.Logf("%d expressions parsed, %d narrowed", parsed, moves)
	if parsed < 1000 || moves < 100 {
		t.Fatalf("%d expressions parsed, %d narrowed: the corpus is not read", parsed, moves)
	}
}

// evalExpr returns the expression of a promqltest eval command line.
func evalExpr(line string) (string, bool) {
	fields := strings.Fields(line)
	if len(fields) < 3 || !strings.HasPrefix(fields[0], "eval") {
		return "", false
	}
	i := 0
	switch fields[1] {
	case "instant": // eval instant at T [modifiers] expr
		i = 4
	case "range": // eval range from T to T step S [modifiers] expr
		i = 8
	default:
		return "", false
	}
	for i < len(fields) && (strings.HasPrefix(fields[i], "expect") || slices.Contains([]string{"fail", "ordered", "warn", "info", "no_warn", "no_info"}, fields[i])) {
		i++
	}
	if i >= len(fields) {
		return "", false
	}
	rest := strings.TrimSpace(line)
	for _, f := range fields[:i] {
		rest = strings.TrimSpace(strings.TrimPrefix(rest, f))
	}
	return rest, true
}

// treeDiff returns where two parsed expressions differ, or "": positions, the order of a
// selector's matchers, a duration expression's parentheses and a unary plus in it (which
// the printer drops) aside.
func treeDiff(a, b reflect.Value, path string) string {
	a, b = concrete(a), concrete(b)
	if a.Kind() != b.Kind() || a.Kind() == reflect.Pointer && a.Type() != b.Type() {
		return fmt.Sprintf("%s: %s, %s", path, a.Type(), b.Type())
	}
	switch a.Type() {
	case reflect.TypeFor[posrange.PositionRange](), reflect.TypeFor[posrange.Pos]():
		return ""
	case reflect.TypeFor[[]*labels.Matcher]():
		text := func(v reflect.Value) string {
			var s []string
			for _, m := range v.Interface().([]*labels.Matcher) {
				s = append(s, m.String())
			}
			slices.Sort(s)
			return strings.Join(s, ",")
		}
		if x, y := text(a), text(b); x != y {
			return fmt.Sprintf("%s: %s, %s", path, x, y)
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil and not nil"
			}
			return ""
		}
		return treeDiff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			name := a.Type().Field(i).Name
			if a.Type() == reflect.TypeFor[parser.DurationExpr]() && name == "Wrapped" {
				continue
			}
			if d := treeDiff(a.Field(i), b.Field(i), path+"."+name); d != "" {
				return d
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d elements, %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := treeDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Float32, reflect.Float64:
		if x, y := a.Float(), b.Float(); x != y && (x == x || y == y) {
			return fmt.Sprintf("%s: %v, %v", path, x, y)
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf("%s: %q, %q", path, a.String(), b.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Sprintf("%s: %t, %t", path, a.Bool(), b.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Sprintf("%s: %d, %d", path, a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			return fmt.Sprintf("%s: %d, %d", path, a.Uint(), b.Uint())
		}
	}
	return "" // maps and funcs: the function table's, the same on both sides
}

// concrete returns what an interface value holds, and the operand of a unary plus in a
// duration expression, else v.
func concrete(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		if v.Kind() == reflect.Interface {
			v = v.Elem()
			continue
		}
		d, ok := v.Interface().(*parser.DurationExpr)
		if !ok || d.Op != parser.ADD || d.LHS != nil {
			break
		}
		v = reflect.ValueOf(d.RHS)
	}
	return v
}
