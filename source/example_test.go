package source_test

import (
	"fmt"

	"github.com/podscrape/podscrape/source"
)

func ExampleQueryList() {
	queries := source.NewQueryList()
	queries.MustRegister(source.QueryTemplate{
		Name:        "queue",
		Type:        source.QueryTypeMetricName,
		Template:    "vllm:num_requests_waiting",
		Description: "requests waiting per model server",
	})
	err := queries.Register(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "x"})
	fmt.Println(err)

	q := queries.Get("queue")
	fmt.Println(q.Template, queries.Get("kv_cache") == nil)
	fmt.Println(queries.List())
	// Output:
	// register query "queue": already registered
	// vllm:num_requests_waiting true
	// [queue]
}

func ExampleBuildCacheKey() {
	fmt.Println(source.BuildCacheKey("kv_cache", nil))
	fmt.Println(source.BuildCacheKey("kv_cache", map[string]string{"namespace": "llm-d", "modelID": "llama"}))
	// Output:
	// kv_cache
	// kv_cache:modelID=llama,namespace=llm-d
}
