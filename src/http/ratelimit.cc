// Sharded token-bucket limiter (include/plinth/ratelimit.h).
#include "plinth/ratelimit.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "plinth/metrics.h"

namespace plinth::ratelimit {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// How many idle, full buckets an insert drops from the cold end of its shard at most.
constexpr int kIdleDropsPerInsert = 2;

}  // namespace

struct RateLimiter::Shard {
  struct Bucket {
    std::string key;
    double tokens;
    Clock::time_point updated;
  };
  std::mutex mu;
  std::list<Bucket> lru;  // front: most recently used
  std::unordered_map<std::string_view, std::list<Bucket>::iterator, StringHash, std::equal_to<>>
      index;
  uint64_t allowed = 0;
  uint64_t limited = 0;
  uint64_t evicted = 0;
};

RateLimiter::RateLimiter(Options options) : options_(options) {
  if (!(options_.rate_per_second > 0)) options_.rate_per_second = 1e-9;
  if (!(options_.burst >= 1)) options_.burst = 1;
  options_.max_keys = std::max(options_.max_keys, kShards);
  for (auto& s : shards_) s = std::make_unique<Shard>();
}

RateLimiter::~RateLimiter() = default;

Decision RateLimiter::Acquire(std::string_view key, Clock::time_point now, double cost) {
  Shard& shard = *shards_[std::hash<std::string_view>{}(key) % kShards];
  const size_t per_shard = (options_.max_keys + kShards - 1) / kShards;
  const double rate = options_.rate_per_second;
  const double burst = options_.burst;
  // How long an untouched bucket takes to be full again from empty: after that it is the same
  // as no bucket at all.
  const auto refill_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(burst / rate));

  std::lock_guard lock(shard.mu);
  Shard::Bucket* bucket;
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    bucket = &*it->second;
    if (now > bucket->updated) {
      double elapsed = std::chrono::duration<double>(now - bucket->updated).count();
      bucket->tokens = std::min(burst, bucket->tokens + elapsed * rate);
      bucket->updated = now;
    }
  } else {
    for (int i = 0; i < kIdleDropsPerInsert && !shard.lru.empty(); ++i) {
      auto& cold = shard.lru.back();
      if (now - cold.updated < refill_time) break;
      shard.index.erase(std::string_view(cold.key));
      shard.lru.pop_back();
    }
    if (shard.lru.size() >= per_shard) {
      auto& cold = shard.lru.back();
      if (now - cold.updated < refill_time) ++shard.evicted;
      shard.index.erase(std::string_view(cold.key));
      shard.lru.pop_back();
    }
    shard.lru.push_front(Shard::Bucket{std::string(key), burst, now});
    bucket = &shard.lru.front();
    shard.index.emplace(std::string_view(bucket->key), shard.lru.begin());
  }

  Decision d;
  if (bucket->tokens >= cost) {
    bucket->tokens -= cost;
    d.allowed = true;
    d.remaining = bucket->tokens;
    ++shard.allowed;
  } else {
    d.allowed = false;
    d.remaining = bucket->tokens;
    double wait = (std::min(cost, burst) - bucket->tokens) / rate;
    d.retry_after = std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait))));
    ++shard.limited;
  }
  return d;
}

Stats RateLimiter::stats() const {
  Stats s;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    s.allowed += shard->allowed;
    s.limited += shard->limited;
    s.evicted += shard->evicted;
    s.keys += shard->lru.size();
  }
  return s;
}

void RateLimiter::RegisterMetrics(metrics::MetricsRegistry& registry, std::string name) const {
  registry.AddCollector("plinth_rate_limit_decisions_total",
                        "Rate-limit decisions by limiter and outcome.", metrics::Type::kCounter,
                        {"limiter", "decision"}, [this, name](metrics::CollectorSink& sink) {
                          Stats s = stats();
                          sink.Sample({name, "allowed"}, static_cast<double>(s.allowed));
                          sink.Sample({name, "limited"}, static_cast<double>(s.limited));
                        });
  registry.AddCollector("plinth_rate_limit_evictions_total",
                        "Active rate-limit buckets evicted to bound memory.",
                        metrics::Type::kCounter, {"limiter"},
                        [this, name](metrics::CollectorSink& sink) {
                          sink.Sample({name}, static_cast<double>(stats().evicted));
                        });
  registry.AddCollector("plinth_rate_limit_keys", "Rate-limit buckets held.",
                        metrics::Type::kGauge, {"limiter"},
                        [this, name](metrics::CollectorSink& sink) {
                          sink.Sample({name}, static_cast<double>(stats().keys));
                        });
}

}  // namespace plinth::ratelimit
