package serve

import (
	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// The JSON of query results is written as Prometheus' API writes it (web/api/v1's JSON
// codec, which this server does not import: it would bring Alertmanager's and OTLP's
// modules): with the same stream writer (json-iterator, configured as encoding/json) and
// the same timestamp and float formats (prometheus/util/jsonutil), so a timestamp reads
// 1700000000.500 and a value below 1e-6 reads 1e-07, as from a Prometheus server. It is
// also several times cheaper than encoding/json's reflection over promql's own
// MarshalJSON methods, which an autoscaler's poll of per-pod series pays every time.

// jsonConfig is the configuration Prometheus' codec encodes with.
var jsonConfig = jsoniter.ConfigCompatibleWithStandardLibrary

// writeTo writes d as Prometheus' codec writes vector and matrix results, and reports
// whether it did; other results (scalar, string) are left to their own MarshalJSON
// (through queryData's fields), as Prometheus' codec leaves them.
func (d *queryData) writeTo(stream *jsoniter.Stream) bool {
	switch d.Result.(type) {
	case promql.Vector, promql.Matrix:
	default:
		return false
	}
	stream.WriteObjectStart()
	stream.WriteObjectField("resultType")
	stream.WriteString(string(d.ResultType))
	stream.WriteMore()
	stream.WriteObjectField("result")
	switch v := d.Result.(type) {
	case promql.Vector:
		writeVector(stream, v)
	case promql.Matrix:
		writeMatrix(stream, v)
	}
	if d.Stats != nil {
		stream.WriteMore()
		stream.WriteObjectField("stats")
		stream.WriteVal(d.Stats)
	}
	stream.WriteObjectEnd()
	return true
}

func writeVector(stream *jsoniter.Stream, v promql.Vector) {
	stream.WriteArrayStart()
	for i, s := range v {
		if i > 0 {
			stream.WriteMore()
		}
		stream.WriteObjectStart()
		stream.WriteObjectField("metric")
		writeLabels(stream, s.Metric)
		stream.WriteMore()
		if s.H == nil {
			stream.WriteObjectField("value")
		} else {
			stream.WriteObjectField("histogram")
		}
		stream.WriteArrayStart()
		jsonutil.MarshalTimestamp(s.T, stream)
		stream.WriteMore()
		if s.H == nil {
			jsonutil.MarshalFloat(s.F, stream)
		} else {
			jsonutil.MarshalHistogram(s.H, stream)
		}
		stream.WriteArrayEnd()
		stream.WriteObjectEnd()
	}
	stream.WriteArrayEnd()
}

func writeMatrix(stream *jsoniter.Stream, m promql.Matrix) {
	stream.WriteArrayStart()
	for i, s := range m {
		if i > 0 {
			stream.WriteMore()
		}
		stream.WriteObjectStart()
		stream.WriteObjectField("metric")
		writeLabels(stream, s.Metric)
		if len(s.Floats) > 0 {
			writePoints(stream, "values", len(s.Floats), func(j int) {
				jsonutil.MarshalTimestamp(s.Floats[j].T, stream)
				stream.WriteMore()
				jsonutil.MarshalFloat(s.Floats[j].F, stream)
			})
		}
		if len(s.Histograms) > 0 {
			writePoints(stream, "histograms", len(s.Histograms), func(j int) {
				jsonutil.MarshalTimestamp(s.Histograms[j].T, stream)
				stream.WriteMore()
				jsonutil.MarshalHistogram(s.Histograms[j].H, stream)
			})
		}
		stream.WriteObjectEnd()
	}
	stream.WriteArrayEnd()
}

// writePoints writes a series' field of n points, each an array that point(j) fills.
func writePoints(stream *jsoniter.Stream, field string, n int, point func(j int)) {
	stream.WriteMore()
	stream.WriteObjectField(field)
	stream.WriteArrayStart()
	for j := range n {
		if j > 0 {
			stream.WriteMore()
		}
		stream.WriteArrayStart()
		point(j)
		stream.WriteArrayEnd()
	}
	stream.WriteArrayEnd()
}

// labelSets are series label sets (the data of /api/v1/series), written as Prometheus'
// codec writes labels: label values are not HTML-escaped, as labels.Labels' own
// MarshalJSON (encoding/json's) would escape them.
type labelSets []labels.Labels

// writeTo writes the sets as a list of label objects.
func (ls labelSets) writeTo(stream *jsoniter.Stream) {
	stream.WriteArrayStart()
	for i, l := range ls {
		if i > 0 {
			stream.WriteMore()
		}
		writeLabels(stream, l)
	}
	stream.WriteArrayEnd()
}

// writeData writes an answer's data: vector and matrix results and series lists with
// the writers above, straight into the envelope's stream; anything else as json-iterator
// encodes it (a scalar's or string's own MarshalJSON, the metadata, the targets).
func writeData(stream *jsoniter.Stream, data any) {
	switch d := data.(type) {
	case *queryData:
		if d.writeTo(stream) {
			return
		}
	case labelSets:
		d.writeTo(stream)
		return
	}
	stream.WriteVal(data)
}

func writeLabels(stream *jsoniter.Stream, ls labels.Labels) {
	stream.WriteObjectStart()
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			stream.WriteMore()
		}
		first = false
		stream.WriteString(l.Name)
		stream.WriteRaw(":")
		stream.WriteString(l.Value)
	})
	stream.WriteObjectEnd()
}
