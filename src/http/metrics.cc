// Metrics registry and the Prometheus text exposition format (include/plinth/metrics.h).
#include "plinth/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace plinth::metrics {

namespace {

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  std::span<const std::string> values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

constexpr char kLabelSeparator = '\xff';

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace internal {
size_t ShardIndex() {
  static std::atomic<size_t> next{0};
  thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}
}  // namespace internal

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

// ---- series --------------------------------------------------------------------------------

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s.value.load(std::memory_order_relaxed);
  return total;
}

namespace {
constexpr size_t kCountsPerCacheLine = 64 / sizeof(std::atomic<uint64_t>);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds),
      stride_((bounds.size() + 1 + kCountsPerCacheLine - 1) / kCountsPerCacheLine *
              kCountsPerCacheLine),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(stride_ * kShards)) {}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  size_t i = 0;
  const size_t n = bounds_.size();
  while (i < n && v > bounds_[i]) ++i;
  size_t shard = internal::ShardIndex();
  counts_[shard * stride_ + i].fetch_add(1, std::memory_order_relaxed);
  sums_[shard].value.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.assign(bounds_.size() + 1, 0);
  for (size_t shard = 0; shard < kShards; ++shard) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      s.cumulative[i] += counts_[shard * stride_ + i].load(std::memory_order_relaxed);
    }
    s.sum += sums_[shard].value.load(std::memory_order_relaxed);
  }
  for (size_t i = 1; i < s.cumulative.size(); ++i) s.cumulative[i] += s.cumulative[i - 1];
  s.count = s.cumulative.back();
  return s;
}

// ---- families ------------------------------------------------------------------------------

template <typename Series>
Family<Series>::Family(Key, std::string name, std::vector<std::string> label_names,
                       size_t max_series, std::vector<double> bounds,
                       std::atomic<uint64_t>& overflow)
    : name_(std::move(name)),
      label_names_(std::move(label_names)),
      max_series_(std::max<size_t>(1, max_series)),
      bounds_(std::move(bounds)),
      overflow_(overflow) {}

template <typename Series>
Series& Family<Series>::Create() {
  if constexpr (std::is_same_v<Series, Histogram>) {
    series_.push_back(std::make_unique<Histogram>(bounds_));
  } else {
    series_.push_back(std::make_unique<Series>());
  }
  return *series_.back();
}

template <typename Series>
Series& Family<Series>::With(std::span<const std::string_view> label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::logic_error("metric " + name_ + ": expected " +
                           std::to_string(label_names_.size()) + " label values, got " +
                           std::to_string(label_values.size()));
  }
  thread_local std::string key;
  key.clear();
  for (std::string_view v : label_values) {
    key += v;
    key += kLabelSeparator;
  }
  std::lock_guard lock(mu_);
  if (auto it = index_.find(std::string_view(key)); it != index_.end()) return *it->second;
  if (series_.size() >= max_series_ && !label_names_.empty()) {
    overflow_.fetch_add(1, std::memory_order_relaxed);
    if (overflow_series_ == nullptr) {
      overflow_series_ = &Create();
      series_labels_.emplace_back(label_names_.size(), std::string(kOverflowLabel));
    }
    return *overflow_series_;
  }
  Series& s = Create();
  series_labels_.emplace_back(label_values.begin(), label_values.end());
  index_.emplace(key, &s);
  return s;
}

template <typename Series>
size_t Family<Series>::series_count() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- registry ------------------------------------------------------------------------------

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  Type type;
  std::vector<std::string> labels;
  std::vector<double> buckets;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  std::vector<std::function<void(CollectorSink&)>> collectors;  // collector families only
};

MetricsRegistry::MetricsRegistry() {
  AddCollector("plinth_metrics_series_overflow_total",
               "Label combinations mapped to a family's overflow series (max_series reached).",
               Type::kCounter, {}, [this](CollectorSink& sink) {
                 sink.Sample({}, static_cast<double>(overflow_.load(std::memory_order_relaxed)));
               });
}

MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Register(std::string name, std::string help, Type type,
                                                  std::vector<std::string> labels,
                                                  const std::vector<double>* buckets) {
  if (!IsMetricName(name)) throw std::logic_error("invalid metric name: " + name);
  for (const auto& l : labels) {
    if (!IsLabelName(l)) throw std::logic_error("metric " + name + ": invalid label name: " + l);
    if (type == Type::kHistogram && l == "le") {
      throw std::logic_error("metric " + name + ": a histogram may not have the label \"le\"");
    }
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    for (size_t j = i + 1; j < labels.size(); ++j) {
      if (labels[i] == labels[j]) {
        throw std::logic_error("metric " + name + ": label " + labels[i] + " given twice");
      }
    }
  }
  if (buckets != nullptr) {
    if (buckets->empty()) throw std::logic_error("histogram " + name + ": no buckets");
    for (size_t i = 0; i < buckets->size(); ++i) {
      if (!std::isfinite((*buckets)[i]) || (i > 0 && (*buckets)[i] <= (*buckets)[i - 1])) {
        throw std::logic_error("histogram " + name +
                               ": buckets must be finite and strictly increasing");
      }
    }
  }
  for (auto& e : entries_) {
    if (e->name != name) continue;
    if (e->type != type || e->labels != labels || (buckets && e->buckets != *buckets)) {
      throw std::logic_error("metric " + name + " registered again with another type or labels");
    }
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = type;
  e->labels = std::move(labels);
  if (buckets) e->buckets = *buckets;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names,
                                           size_t max_series) {
  std::lock_guard lock(mu_);
  Entry& e = Register(std::move(name), std::move(help), Type::kCounter, std::move(label_names),
                      nullptr);
  if (!e.counter) {
    if (!e.collectors.empty()) throw std::logic_error("metric " + e.name + " is a collector");
    e.counter = std::make_unique<CounterFamily>(CounterFamily::Key(), e.name, e.labels, max_series,
                                                std::vector<double>{}, overflow_);
  }
  return *e.counter;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names, size_t max_series) {
  std::lock_guard lock(mu_);
  Entry& e =
      Register(std::move(name), std::move(help), Type::kGauge, std::move(label_names), nullptr);
  if (!e.gauge) {
    if (!e.collectors.empty()) throw std::logic_error("metric " + e.name + " is a collector");
    e.gauge = std::make_unique<GaugeFamily>(GaugeFamily::Key(), e.name, e.labels, max_series,
                                            std::vector<double>{}, overflow_);
  }
  return *e.gauge;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> buckets, size_t max_series) {
  std::lock_guard lock(mu_);
  Entry& e = Register(std::move(name), std::move(help), Type::kHistogram, std::move(label_names),
                      &buckets);
  if (!e.histogram) {
    e.histogram = std::make_unique<HistogramFamily>(HistogramFamily::Key(), e.name, e.labels,
                                                    max_series, e.buckets, overflow_);
  }
  return *e.histogram;
}

void MetricsRegistry::AddCollector(std::string name, std::string help, Type type,
                                   std::vector<std::string> label_names,
                                   std::function<void(CollectorSink&)> collect) {
  if (type == Type::kHistogram) throw std::logic_error("collectors are counters or gauges");
  std::lock_guard lock(mu_);
  Entry& e =
      Register(std::move(name), std::move(help), type, std::move(label_names), nullptr);
  if (e.counter || e.gauge) throw std::logic_error("metric " + e.name + " is not a collector");
  e.collectors.push_back(std::move(collect));
}

namespace {

class RenderSink final : public CollectorSink {
 public:
  RenderSink(std::string& out, const std::string& name, const std::vector<std::string>& labels)
      : out_(out), name_(name), labels_(labels) {}
  void Sample(std::initializer_list<std::string_view> label_values, double value) override {
    if (label_values.size() != labels_.size()) return;  // a collector bug: skip the sample
    std::vector<std::string> values(label_values.begin(), label_values.end());
    out_ += name_;
    AppendLabels(out_, labels_, values);
    out_ += ' ';
    out_ += FormatValue(value);
    out_ += '\n';
  }

 private:
  std::string& out_;
  const std::string& name_;
  const std::vector<std::string>& labels_;
};

}  // namespace

std::string MetricsRegistry::Render() const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    out += "# HELP ";
    out += e.name;
    out += ' ';
    out += EscapeHelp(e.help);
    out += "\n# TYPE ";
    out += e.name;
    out += ' ';
    out += TypeName(e.type);
    out += '\n';
    if (e.counter) {
      std::lock_guard flock(e.counter->mu_);
      for (size_t i = 0; i < e.counter->series_.size(); ++i) {
        out += e.name;
        AppendLabels(out, e.labels, e.counter->series_labels_[i]);
        out += ' ';
        out += std::to_string(e.counter->series_[i]->Value());
        out += '\n';
      }
    } else if (e.gauge) {
      std::lock_guard flock(e.gauge->mu_);
      for (size_t i = 0; i < e.gauge->series_.size(); ++i) {
        out += e.name;
        AppendLabels(out, e.labels, e.gauge->series_labels_[i]);
        out += ' ';
        out += FormatValue(e.gauge->series_[i]->Value());
        out += '\n';
      }
    } else if (e.histogram) {
      std::lock_guard flock(e.histogram->mu_);
      for (size_t i = 0; i < e.histogram->series_.size(); ++i) {
        const auto& labels = e.histogram->series_labels_[i];
        Histogram::Snapshot snap = e.histogram->series_[i]->Take();
        for (size_t b = 0; b <= snap.bounds.size(); ++b) {
          out += e.name;
          out += "_bucket";
          std::string le = b < snap.bounds.size() ? FormatValue(snap.bounds[b]) : "+Inf";
          AppendLabels(out, e.labels, labels, "le", le);
          out += ' ';
          out += std::to_string(snap.cumulative[b]);
          out += '\n';
        }
        out += e.name;
        out += "_sum";
        AppendLabels(out, e.labels, labels);
        out += ' ';
        out += FormatValue(snap.sum);
        out += '\n';
        out += e.name;
        out += "_count";
        AppendLabels(out, e.labels, labels);
        out += ' ';
        out += std::to_string(snap.count);
        out += '\n';
      }
    } else {
      RenderSink sink(out, e.name, e.labels);
      for (const auto& c : e.collectors) c(sink);
    }
  }
  return out;
}

}  // namespace plinth::metrics
