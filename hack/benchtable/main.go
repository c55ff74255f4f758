// Command benchtable reads `go test -bench` output on stdin and prints the tables of
// BENCH.md: each benchmark's metrics averaged over its -count runs, then the ratios the
// performance goals are stated in, all from the same run.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result is one benchmark's metrics, averaged over its runs.
type result struct {
	runs    int
	metrics map[string]float64 // unit -> sum over runs, then mean
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

// parse collects the benchmark lines of r by name (without the -GOMAXPROCS suffix).
func parse(r io.Reader) (map[string]*result, []string, []string) {
	results := map[string]*result{}
	var order, header []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, h := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(line, h) && !slices.Contains(header, line) {
				header = append(header, line)
			}
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := gomaxprocs.ReplaceAllString(fields[0], "")
		res, ok := results[name]
		if !ok {
			res = &result{metrics: map[string]float64{}}
			results[name] = res
			order = append(order, name)
		}
		res.runs++
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			res.metrics[fields[i+1]] += v
		}
	}
	for _, res := range results {
		for unit := range res.metrics {
			res.metrics[unit] /= float64(res.runs)
		}
	}
	return results, order, header
}

func main() {
	results, order, header := parse(os.Stdin)
	get := func(name, unit string) (float64, bool) {
		res, ok := results[name]
		if !ok {
			return 0, false
		}
		v, ok := res.metrics[unit]
		return v, ok
	}
	out := os.Stdout
	for _, h := range header {
		fmt.Fprintln(out, h)
	}

	fmt.Fprintln(out, "\n## Every benchmark (mean of its runs)")
	fmt.Fprintln(out, "\n| benchmark | runs | metrics |\n| --- | --- | --- |")
	for _, name := range order {
		res := results[name]
		units := slices.Sorted(func(yield func(string) bool) {
			for u := range res.metrics {
				if !yield(u) {
					return
				}
			}
		})
		var parts []string
		for _, u := range units {
			parts = append(parts, fmt.Sprintf("%s %s", format(res.metrics[u]), u))
		}
		fmt.Fprintf(out, "| %s | %d | %s |\n", name, res.runs, strings.Join(parts, ", "))
	}

	var goals []string
	check := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		goals = append(goals, fmt.Sprintf("- %s: %s", mark, fmt.Sprintf(format, args...)))
	}

	fmt.Fprintln(out, "\n## Parse (per sample; ratios against the same run)")
	fmt.Fprintln(out, "\n| fixture | pipeline | ns/sample | B/sample | allocs/sample | MB/s | speed vs expfmt | allocs vs expfmt | speed vs textparse |")
	fmt.Fprintln(out, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, name := range order {
		parts := strings.Split(name, "/")
		if len(parts) != 3 || parts[0] != "BenchmarkParse" {
			continue
		}
		fixture, pipeline := parts[1], parts[2]
		ns, _ := get(name, "ns/sample")
		bs, _ := get(name, "B/sample")
		allocs, _ := get(name, "allocs/sample")
		mbs, _ := get(name, "MB/s")
		ratio := func(other, unit string, inverse bool) string {
			o, ok := get("BenchmarkParse/"+fixture+"/"+other, unit)
			v, _ := get(name, unit)
			if !ok || v == 0 || o == 0 {
				return "-"
			}
			if inverse {
				return fmt.Sprintf("%.2fx", o/v)
			}
			return fmt.Sprintf("%.3f", v/o)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", fixture, pipeline,
			format(ns), format(bs), format(allocs), format(mbs),
			ratio("expfmt", "ns/sample", true), ratio("expfmt", "allocs/sample", false), ratio("textparse", "ns/sample", true))
		if pipeline == "ours" {
			if e, ok := get("BenchmarkParse/"+fixture+"/expfmt", "ns/sample"); ok {
				check(e/ns >= 4, "parse %s: %.2fx the expfmt pipeline's samples/s (goal >= 4x)", fixture, e/ns)
			}
			if e, ok := get("BenchmarkParse/"+fixture+"/expfmt", "allocs/sample"); ok {
				check(allocs <= e/10, "parse %s: %.2f allocs/sample vs expfmt's %.2f (goal <= 1/10)", fixture, allocs, e)
			}
			if tp, ok := get("BenchmarkParse/"+fixture+"/textparse", "ns/sample"); ok {
				check(tp/ns >= 1.5, "parse %s: %.2fx textparse->map samples/s (goal >= 1.5x)", fixture, tp/ns)
			}
			check(allocs <= 2.5, "parse %s: %.2f allocs/sample in steady state (goal <= 2.5)", fixture, allocs)
		}
	}

	fmt.Fprintln(out, "\n## Refresh over 200 loopback pods (vLLM fixture)")
	fmt.Fprintln(out, "\n| benchmark | ms/refresh | samples/s | B/sample | allocs/sample | vs parse-only samples/s |")
	fmt.Fprintln(out, "| --- | --- | --- | --- | --- | --- |")
	parseOnly, _ := get("BenchmarkRefreshParseOnly", "samples/s")
	for _, name := range append([]string{"BenchmarkRefreshParseOnly"}, filter(order, "BenchmarkRefresh200Pods/")...) {
		sps, ok := get(name, "samples/s")
		if !ok {
			continue
		}
		ns, _ := get(name, "ns/op")
		bs, _ := get(name, "B/sample")
		allocs, _ := get(name, "allocs/sample")
		vs := "-"
		if parseOnly > 0 {
			vs = fmt.Sprintf("%.0f%%", 100*sps/parseOnly)
		}
		fmt.Fprintf(out, "| %s | %.1f | %s | %s | %s | %s |\n", strings.TrimPrefix(name, "Benchmark"), ns/1e6, format(sps), format(bs), format(allocs), vs)
		if strings.HasPrefix(name, "BenchmarkRefresh200Pods/") && parseOnly > 0 {
			check(sps/parseOnly >= 0.6, "Refresh %s: %.0f%% of the parse-only samples/s (goal >= 60%%)", strings.TrimPrefix(name, "BenchmarkRefresh200Pods/"), 100*sps/parseOnly)
		}
	}

	if one, ok := get("BenchmarkParseOneMetric/one", "B/op"); ok {
		all, _ := get("BenchmarkParseOneMetric/all", "B/op")
		fmt.Fprintln(out, "\n## One metric vs every sample, parse only (vLLM fixture)")
		fmt.Fprintf(out, "\n| parse | B/op |\n| --- | --- |\n| one metric | %s |\n| every sample | %s |\n", format(one), format(all))
		if one > 0 {
			check(one <= all/20, "one metric at parse time: 1/%.0f of every sample's bytes (goal <= 1/20)", all/one)
		} else {
			check(true, "one metric at parse time: 0 bytes vs %s (goal <= 1/20)", format(all))
		}
	}
	for _, pods := range []string{"10", "200"} {
		one, ok1 := get("BenchmarkRefreshQuery/pods="+pods+"/query=one_metric", "B/op")
		all, ok2 := get("BenchmarkRefreshQuery/pods="+pods+"/query=all_metrics", "B/op")
		if !ok1 || !ok2 {
			continue
		}
		fmt.Fprintf(out, "\n## One metric vs all_metrics (%s vLLM pods)\n", pods)
		fmt.Fprintf(out, "\n| query | B/refresh |\n| --- | --- |\n| one metric | %s |\n| all_metrics | %s |\n| ratio | 1/%.1f |\n", format(one), format(all), all/one)
		check(one <= all/20, "one-metric query over %s pods: 1/%.1f of all_metrics' bytes (goal <= 1/20)", pods, all/one)
	}
	if p99, ok := get("BenchmarkGetDuringRefresh", "p99-ns"); ok {
		p50, _ := get("BenchmarkGetDuringRefresh", "p50-ns")
		fmt.Fprintln(out, "\n## Get while a Refresh is in flight")
		fmt.Fprintf(out, "\n| p50 | p99 |\n| --- | --- |\n| %s ns | %s ns |\n", format(p50), format(p99))
		check(p99 < 10000, "Get during a refresh: p99 %s ns (goal < 10 µs)", format(p99))
	}

	if off, ok := get("BenchmarkRefreshHistory/history=off", "ns/op"); ok {
		on, _ := get("BenchmarkRefreshHistory/history=on", "ns/op")
		fmt.Fprintln(out, "\n## PromQL history: refresh of 200 pods with and without it")
		fmt.Fprintf(out, "\n| history | ns/refresh |\n| --- | --- |\n| off | %s |\n| on | %s |\n| ratio | %.2fx |\n", format(off), format(on), on/off)
		check(on <= 1.3*off, "refresh with history: %.2fx the refresh without (goal <= 1.3x)", on/off)
	}
	var slowest float64
	var slowestName string
	for _, name := range filter(order, "BenchmarkQuery/") {
		if ns, ok := get(name, "ns/op"); ok && ns > slowest {
			slowest, slowestName = ns, strings.TrimPrefix(name, "BenchmarkQuery/")
		}
	}
	if slowestName != "" {
		check(slowest < 5e6, "slowest autoscaler query over 10 min of 200 pods' history: %s, %.2f ms (goal < 5 ms)", slowestName, slowest/1e6)
	}
	if cpu, ok := get("BenchmarkVersusPrometheus", "cpu-ratio"); ok {
		rss, _ := get("BenchmarkVersusPrometheus", "rss-ratio")
		fmt.Fprintln(out, "\n## Side by side with the Prometheus server (200 pods, 1 s interval, 30 s)")
		fmt.Fprintln(out, "\n| | podscrape | Prometheus | ratio |\n| --- | --- | --- | --- |")
		for _, m := range []struct{ label, ours, theirs string }{
			{"CPU seconds", "ours-cpu-s", "prom-cpu-s"}, {"peak RSS MiB", "ours-peak-MiB", "prom-peak-MiB"}, {"age of the data a query sees, s", "ours-age-s", "prom-age-s"},
		} {
			o, _ := get("BenchmarkVersusPrometheus", m.ours)
			p, _ := get("BenchmarkVersusPrometheus", m.theirs)
			fmt.Fprintf(out, "| %s | %s | %s | %.2f |\n", m.label, format(o), format(p), o/p)
		}
		check(cpu <= 1.0/3, "CPU against the Prometheus server: %.2f (goal <= 0.33)", cpu)
		check(rss <= 1.0/3, "peak RSS against the Prometheus server: %.2f (goal <= 0.33)", rss)
	}

	fmt.Fprintln(out, "\n## Goals")
	fmt.Fprintln(out)
	for _, g := range goals {
		fmt.Fprintln(out, g)
	}
}

func filter(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// format prints v with precision that suits its size.
func format(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
