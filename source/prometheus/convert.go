package prometheus

import (
	"errors"
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/source"
)

// ErrNoResult is wrapped by a query's error when the server answered 200 with no query
// result in its body ({"status":"ok"}, {}, "data": null): a health endpoint or another
// service at a wrong URL or path prefix, not an empty answer.
var ErrNoResult = errors.New("the answer holds no query result")

// convert returns the MetricValues of a query's answer, as the pod source shapes them: a
// vector's samples, a scalar (no labels), a range vector's latest sample per series.
// Native histogram samples have no float value: they are left out and counted. No
// result at all is ErrNoResult, never an empty answer ("no data" is not "no load"); a
// string is an error. NaN and ±Inf are kept.
func convert(v model.Value) (values []source.MetricValue, droppedHistograms int, err error) {
	switch x := v.(type) {
	case nil:
		return nil, 0, fmt.Errorf(`%w (no "data" in a 200 answer: is this the API's URL and path prefix?)`, ErrNoResult)
	case model.Vector:
		values = make([]source.MetricValue, 0, len(x))
		for _, s := range x {
			if s.Histogram != nil {
				droppedHistograms++
				continue
			}
			values = append(values, source.MetricValue{Value: float64(s.Value), Timestamp: s.Timestamp.Time(), Labels: labelMap(s.Metric)})
		}
	case *model.Scalar:
		values = []source.MetricValue{{Value: float64(x.Value), Timestamp: x.Timestamp.Time(), Labels: map[string]string{}}}
	case model.Matrix:
		values = make([]source.MetricValue, 0, len(x))
		for _, s := range x {
			if n := len(s.Values); n > 0 {
				last := s.Values[n-1]
				values = append(values, source.MetricValue{Value: float64(last.Value), Timestamp: last.Timestamp.Time(), Labels: labelMap(s.Metric)})
			} else if len(s.Histograms) > 0 {
				droppedHistograms++
			}
		}
	default:
		return nil, 0, fmt.Errorf("result of type %s is not a vector, scalar or range vector", v.Type())
	}
	return values, droppedHistograms, nil
}

func labelMap(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}
