// plinth/ratelimit.h — token-bucket rate limiting keyed by a string (an API key id, a client IP).
//
// Each key has a bucket of `burst` tokens that refills at `rate_per_second`; a request takes one
// token (or `cost`). When the bucket holds less than the cost, the request is refused and the
// decision says after how many whole seconds (at least 1) enough tokens will be there: the value
// of the 429 response's Retry-After header.
//
// Memory is bounded: at most `max_keys` buckets are kept (spread over kShards shards). A bucket
// that has been idle long enough to be full again is equivalent to no bucket and is dropped when
// its shard needs room or on later inserts; when a shard is full of active buckets, the least
// recently used one is evicted (its key starts again with a full bucket: eviction can only make
// the limiter more lenient, never refuse a request that should pass). Counters say how often.
//
// Thread-safety: Acquire may be called from any number of threads at once; keys are hashed to
// shards, each guarded by its own mutex (held for a hash lookup and a few arithmetic operations).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace plinth::metrics {
class MetricsRegistry;
}

namespace plinth::ratelimit {

using Clock = std::chrono::steady_clock;

struct Options {
  double rate_per_second = 10;  // sustained rate per key (> 0)
  double burst = 20;            // bucket capacity (>= 1)
  size_t max_keys = 100'000;    // buckets kept at most (>= kShards)
};

struct Decision {
  bool allowed = true;
  // When refused: whole seconds until the request would be allowed (>= 1). 0 when allowed.
  std::chrono::seconds retry_after{0};
  // Tokens left in the bucket after this decision (for RateLimit-Remaining style headers).
  double remaining = 0;
};

struct Stats {
  uint64_t allowed = 0;   // decisions that allowed
  uint64_t limited = 0;   // decisions that refused
  uint64_t evicted = 0;   // active buckets dropped to make room (not counting idle, full ones)
  uint64_t keys = 0;      // buckets held now
};

class RateLimiter {
 public:
  static constexpr size_t kShards = 32;

  // Options out of range (rate <= 0, burst < 1) are clamped to the smallest valid values.
  explicit RateLimiter(Options options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  Decision Acquire(std::string_view key, double cost = 1) { return Acquire(key, Clock::now(), cost); }
  // With an explicit time (tests; callers that already read the clock). Times going backwards
  // are treated as no time passing.
  Decision Acquire(std::string_view key, Clock::time_point now, double cost = 1);

  Stats stats() const;
  const Options& options() const { return options_; }

  // Registers, under the label limiter="<name>", plinth_rate_limit_decisions_total{limiter,
  // decision="allowed"|"limited"}, plinth_rate_limit_evictions_total{limiter} and
  // plinth_rate_limit_keys{limiter}. The limiter must outlive the registry's use of it.
  void RegisterMetrics(metrics::MetricsRegistry& registry, std::string name) const;

 private:
  struct Shard;
  Options options_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
};

}  // namespace plinth::ratelimit
