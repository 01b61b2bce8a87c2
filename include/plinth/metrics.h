// plinth/metrics.h — counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format 0.0.4.
//
// A MetricsRegistry holds metric families. A family has a name, a help text, a type and a fixed
// list of label names; its series (one per combination of label values) are created on first use
// by With(...) and live as long as the registry (references stay valid). Label sets are bounded:
// a family accepts at most `max_series` distinct combinations (default kDefaultMaxSeries); further
// combinations all map to one overflow series whose label values are all "_overflow", and
// plinth_metrics_series_overflow_total counts them. Callers must therefore only use label values
// from bounded sets (route templates, never raw paths; status codes; table names).
//
// Contract:
//   - Names follow Prometheus rules: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
//     [a-zA-Z_][a-zA-Z0-9_]* not starting with "__"; histograms may not use the label "le".
//     Counters should be named *_total. Registering a name again with the same type, labels (and
//     buckets) returns the existing family; an invalid name or a conflicting re-registration is a
//     programming error and throws std::logic_error (registration happens at start-up, with names
//     fixed in code).
//   - Counter values are unsigned integers (monotonic); gauges and histogram observations are
//     doubles. Histogram buckets are upper bounds in increasing order; +Inf is implicit.
//   - Render() writes every family in registration order: "# HELP", "# TYPE", then its samples;
//     help text escapes '\' and newline, label values escape '\', '"' and newline. Histograms
//     give name_bucket{...,le="…"} (cumulative, ending with le="+Inf"), name_sum and name_count,
//     where name_count always equals the +Inf bucket.
//   - Collector families produce their samples at render time from a callback (pool gauges and
//     other values that live elsewhere). The callback runs on the rendering thread, under the
//     registry's lock: it must be quick and must not call back into the registry.
//
// Thread-safety: everything is safe to call from any thread. Counter::Inc, Gauge::Set/Add and
// Histogram::Observe are lock-free (counters and histograms are sharded per thread, so updates
// from many threads do not contend). Family::With takes the family's mutex: look a series up once
// and keep the reference on hot paths.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::metrics {

inline constexpr size_t kDefaultMaxSeries = 2000;
// Shards of a counter or histogram: threads are spread over them round-robin.
inline constexpr size_t kShards = 8;
// The label value of the overflow series of a family that reached its max_series.
inline constexpr std::string_view kOverflowLabel = "_overflow";

enum class Type : unsigned char { kCounter, kGauge, kHistogram };
std::string_view TypeName(Type type);  // "counter", "gauge", "histogram"

// Buckets suited to request latencies in seconds: 0.5 ms … 10 s.
std::vector<double> LatencyBuckets();

namespace internal {
struct alignas(64) PaddedCount {
  std::atomic<uint64_t> value{0};
};
struct alignas(64) PaddedDouble {
  std::atomic<double> value{0};
};
// The shard of the calling thread, in [0, kShards).
size_t ShardIndex();
}  // namespace internal

// One counter series.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    shards_[internal::ShardIndex()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  internal::PaddedCount shards_[kShards];
};

// One gauge series.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// One histogram series.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;        // upper bounds, without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries, the last is +Inf
    uint64_t count = 0;                // == cumulative.back()
    double sum = 0;
  };
  Snapshot Take() const;

 private:
  const std::vector<double>& bounds_;  // owned by the family
  size_t stride_;                      // counts per shard (bounds + 1, padded to a cache line)
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  internal::PaddedDouble sums_[kShards];
};

// The samples a collector callback emits at render time.
class CollectorSink {
 public:
  virtual ~CollectorSink() = default;
  // One sample of the collector's family; `label_values` in the order of its label names.
  virtual void Sample(std::initializer_list<std::string_view> label_values, double value) = 0;
};

// A family of series of one type; series are created on first use.
template <typename Series>
class Family {
 public:
  // Only MetricsRegistry constructs families (the key is private to it).
  class Key {
    friend class MetricsRegistry;
    Key() = default;
  };
  Family(Key, std::string name, std::vector<std::string> label_names, size_t max_series,
         std::vector<double> bounds, std::atomic<uint64_t>& overflow);

  // The series for these label values (as many as the family has label names; a wrong count is
  // a programming error and throws std::logic_error). Takes the family's mutex.
  Series& With(std::initializer_list<std::string_view> label_values) {
    return With(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  Series& With(std::span<const std::string_view> label_values);
  // The only series of a family without labels.
  Series& Get() { return With({}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  size_t series_count() const;

 private:
  friend class MetricsRegistry;
  Series& Create();

  std::string name_;
  std::vector<std::string> label_names_;
  size_t max_series_;
  std::vector<double> bounds_;  // histograms only
  std::atomic<uint64_t>& overflow_;
  mutable std::mutex mu_;
  // Joined label values (each value followed by '\xff') → series; deque keeps addresses stable.
  std::map<std::string, Series*, std::less<>> index_;
  std::deque<std::unique_ptr<Series>> series_;
  std::deque<std::vector<std::string>> series_labels_;  // parallel to series_
  Series* overflow_series_ = nullptr;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {},
                            size_t max_series = kDefaultMaxSeries);
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {},
                        size_t max_series = kDefaultMaxSeries);
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> buckets,
                                size_t max_series = kDefaultMaxSeries);
  // A family whose samples `collect` emits at render time (type kCounter or kGauge).
  void AddCollector(std::string name, std::string help, Type type,
                    std::vector<std::string> label_names,
                    std::function<void(CollectorSink&)> collect);

  // The whole registry in the Prometheus text format 0.0.4.
  std::string Render() const;

  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  Entry& Register(std::string name, std::string help, Type type, std::vector<std::string> labels,
                  const std::vector<double>* buckets);

  mutable std::mutex mu_;
  std::deque<std::unique_ptr<Entry>> entries_;
  std::atomic<uint64_t> overflow_{0};
};

// Prometheus text-format escaping, exposed for tests and collectors.
std::string EscapeHelp(std::string_view help);
std::string EscapeLabelValue(std::string_view value);
// A sample value as Prometheus reads it: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace plinth::metrics
