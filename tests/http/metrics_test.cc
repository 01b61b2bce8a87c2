// The metrics registry and its Prometheus text output; the rate limiter.
#include <gtest/gtest.h>

#include <thread>

#include "http/prom_parser.h"
#include "plinth/metrics.h"
#include "plinth/ratelimit.h"

namespace plinth {
namespace {

using http::testing::ParseProm;
using http::testing::PromText;

PromText Parse(const metrics::MetricsRegistry& r) {
  std::string error;
  std::string text = r.Render();
  auto parsed = ParseProm(text, error);
  EXPECT_TRUE(parsed.has_value()) << error << "\n" << text;
  return parsed.value_or(PromText{});
}

TEST(MetricsTest, CountersGaugesAndHistogramsRender) {
  metrics::MetricsRegistry r;
  auto& req = r.AddCounter("app_requests_total", "Requests.", {"route", "status"});
  req.With({"/a/{id}", "200"}).Inc(3);
  req.With({"/a/{id}", "404"}).Inc();
  auto& g = r.AddGauge("app_pool_in_use", "Connections in use.").Get();
  g.Set(4);
  g.Dec();
  auto& h = r.AddHistogram("app_latency_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0}) h.With({"/a"}).Observe(v);

  PromText p = Parse(r);
  EXPECT_EQ(p.types["app_requests_total"], "counter");
  EXPECT_EQ(p.types["app_pool_in_use"], "gauge");
  EXPECT_EQ(p.types["app_latency_seconds"], "histogram");
  EXPECT_EQ(p.help["app_requests_total"], "Requests.");
  EXPECT_EQ(p.Value("app_requests_total", {{"route", "/a/{id}"}, {"status", "200"}}), 3);
  EXPECT_EQ(p.Value("app_requests_total", {{"route", "/a/{id}"}, {"status", "404"}}), 1);
  EXPECT_EQ(p.Value("app_pool_in_use"), 3);
  EXPECT_EQ(p.Value("app_latency_seconds_bucket", {{"route", "/a"}, {"le", "0.1"}}), 2);  // le is <=
  EXPECT_EQ(p.Value("app_latency_seconds_bucket", {{"route", "/a"}, {"le", "0.5"}}), 3);
  EXPECT_EQ(p.Value("app_latency_seconds_bucket", {{"route", "/a"}, {"le", "1"}}), 4);
  EXPECT_EQ(p.Value("app_latency_seconds_bucket", {{"route", "/a"}, {"le", "+Inf"}}), 5);
  EXPECT_EQ(p.Value("app_latency_seconds_count", {{"route", "/a"}}), 5);
  EXPECT_NEAR(*p.Value("app_latency_seconds_sum", {{"route", "/a"}}), 3.15, 1e-9);
}

TEST(MetricsTest, EscapesHelpAndLabelValues) {
  metrics::MetricsRegistry r;
  r.AddCounter("esc_total", "Line one\nback\\slash", {"v"}).With({"a\"b\\c\nd"}).Inc();
  std::string text = r.Render();
  EXPECT_NE(text.find("# HELP esc_total Line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  PromText p = Parse(r);
  EXPECT_EQ(p.help["esc_total"], "Line one\nback\\slash");
  EXPECT_EQ(p.Value("esc_total", {{"v", "a\"b\\c\nd"}}), 1);
}

TEST(MetricsTest, LabelSetsAreBounded) {
  metrics::MetricsRegistry r;
  auto& f = r.AddCounter("bounded_total", "Bounded.", {"key"}, /*max_series=*/3);
  for (int i = 0; i < 10; ++i) f.With({std::to_string(i)}).Inc();
  EXPECT_EQ(f.series_count(), 4u);  // three real series and the overflow series
  PromText p = Parse(r);
  EXPECT_EQ(p.Value("bounded_total", {{"key", "_overflow"}}), 7);
  EXPECT_EQ(p.Value("bounded_total", {{"key", "0"}}), 1);
  EXPECT_EQ(p.Value("plinth_metrics_series_overflow_total"), 7);
  // An existing series is still found after the cap.
  f.With({"1"}).Inc();
  EXPECT_EQ(Parse(r).Value("bounded_total", {{"key", "1"}}), 2);
}

TEST(MetricsTest, RegistrationRules) {
  metrics::MetricsRegistry r;
  auto& a = r.AddCounter("same_total", "x", {"l"});
  auto& b = r.AddCounter("same_total", "x", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.AddGauge("same_total", "x", {"l"}), std::logic_error);
  EXPECT_THROW(r.AddCounter("same_total", "x", {"other"}), std::logic_error);
  EXPECT_THROW(r.AddCounter("9bad", "x"), std::logic_error);
  EXPECT_THROW(r.AddCounter("bad-name", "x"), std::logic_error);
  EXPECT_THROW(r.AddCounter("ok_total", "x", {"__reserved"}), std::logic_error);
  EXPECT_THROW(r.AddHistogram("h", "x", {"le"}, {1}), std::logic_error);
  EXPECT_THROW(r.AddHistogram("h2", "x", {}, {2, 1}), std::logic_error);
  EXPECT_THROW(a.With({"x", "y"}), std::logic_error);
}

TEST(MetricsTest, CollectorsRunAtRenderTime) {
  metrics::MetricsRegistry r;
  int in_use = 2;
  r.AddCollector("pool_connections", "Pool.", metrics::Type::kGauge, {"state"},
                 [&](metrics::CollectorSink& sink) {
                   sink.Sample({"in_use"}, in_use);
                   sink.Sample({"idle"}, 8);
                 });
  EXPECT_EQ(Parse(r).Value("pool_connections", {{"state", "in_use"}}), 2);
  in_use = 5;
  PromText p = Parse(r);
  EXPECT_EQ(p.Value("pool_connections", {{"state", "in_use"}}), 5);
  EXPECT_EQ(p.Value("pool_connections", {{"state", "idle"}}), 8);
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  metrics::MetricsRegistry r;
  auto& c = r.AddCounter("conc_total", "x").Get();
  auto& h = r.AddHistogram("conc_seconds", "x", {}, {0.5}).Get();
  constexpr int kThreads = 4, kPer = 50000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        c.Inc();
        h.Observe(t % 2 ? 1.0 : 0.25);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), uint64_t{kThreads} * kPer);
  auto snap = h.Take();
  EXPECT_EQ(snap.count, uint64_t{kThreads} * kPer);
  EXPECT_EQ(snap.cumulative[0], uint64_t{kThreads / 2} * kPer);
  EXPECT_DOUBLE_EQ(snap.sum, kThreads / 2 * kPer * 1.0 + kThreads / 2 * kPer * 0.25);
}

TEST(MetricsTest, FormatValue) {
  EXPECT_EQ(metrics::FormatValue(3), "3");
  EXPECT_EQ(metrics::FormatValue(0.25), "0.25");
  EXPECT_EQ(metrics::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(metrics::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(metrics::FormatValue(std::nan("")), "NaN");
}

// ---- rate limiting ----

using ratelimit::Clock;
using ratelimit::RateLimiter;

TEST(RateLimiterTest, BurstThenRefuseWithRetryAfterThenRefill) {
  RateLimiter rl({.rate_per_second = 2, .burst = 3, .max_keys = 100});
  Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Acquire("k", t0).allowed) << i;
  auto refused = rl.Acquire("k", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after.count(), 1);  // one token at 2/s: 0.5 s, rounded up
  // Another key has its own bucket.
  EXPECT_TRUE(rl.Acquire("other", t0).allowed);
  // After 0.5 s one token is back, not two.
  auto t1 = t0 + std::chrono::milliseconds(500);
  EXPECT_TRUE(rl.Acquire("k", t1).allowed);
  EXPECT_FALSE(rl.Acquire("k", t1).allowed);
  // A long pause refills to the burst, not beyond.
  auto t2 = t1 + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Acquire("k", t2).allowed);
  EXPECT_FALSE(rl.Acquire("k", t2).allowed);
  auto s = rl.stats();
  EXPECT_EQ(s.allowed, 3u + 1 + 1 + 3);
  EXPECT_EQ(s.limited, 3u);
}

TEST(RateLimiterTest, RetryAfterGrowsWithSlowRates) {
  RateLimiter rl({.rate_per_second = 0.1, .burst = 1, .max_keys = 100});
  auto t0 = Clock::now();
  EXPECT_TRUE(rl.Acquire("k", t0).allowed);
  EXPECT_EQ(rl.Acquire("k", t0).retry_after.count(), 10);
  EXPECT_EQ(rl.Acquire("k", t0 + std::chrono::seconds(4)).retry_after.count(), 6);
}

TEST(RateLimiterTest, MemoryIsBounded) {
  RateLimiter rl({.rate_per_second = 1, .burst = 5, .max_keys = 64});
  auto t0 = Clock::now();
  for (int i = 0; i < 10000; ++i) rl.Acquire("key-" + std::to_string(i), t0);
  auto s = rl.stats();
  EXPECT_LE(s.keys, 64u + RateLimiter::kShards);
  EXPECT_GT(s.evicted, 0u);
  // Idle buckets (full again) are dropped without counting as evictions.
  RateLimiter idle({.rate_per_second = 10, .burst = 1, .max_keys = 64});
  for (int i = 0; i < 1000; ++i) {
    idle.Acquire("key-" + std::to_string(i), t0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(idle.stats().evicted, 0u);
  EXPECT_LE(idle.stats().keys, 64u);
}

TEST(RateLimiterTest, ThreadSafeAndNeverOverGrants) {
  RateLimiter rl({.rate_per_second = 1e-6, .burst = 1000, .max_keys = 1000});
  std::atomic<int> allowed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (rl.Acquire("shared").allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(rl.stats().limited, 3000u);
}

TEST(RateLimiterTest, RegistersMetrics) {
  metrics::MetricsRegistry r;
  RateLimiter rl({.rate_per_second = 1, .burst = 1, .max_keys = 100});
  rl.RegisterMetrics(r, "api_key");
  auto t0 = Clock::now();
  rl.Acquire("a", t0);
  rl.Acquire("a", t0);
  PromText p = Parse(r);
  EXPECT_EQ(p.Value("plinth_rate_limit_decisions_total", {{"limiter", "api_key"}, {"decision", "allowed"}}), 1);
  EXPECT_EQ(p.Value("plinth_rate_limit_decisions_total", {{"limiter", "api_key"}, {"decision", "limited"}}), 1);
  EXPECT_EQ(p.Value("plinth_rate_limit_keys", {{"limiter", "api_key"}}), 1);
}

}  // namespace
}  // namespace plinth
