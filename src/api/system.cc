// Health, metrics, the OpenAPI document and /docs:
//   GET /health/live, /health/ready, /api/v1/system/health/database,
//   /api/v1/system/health/comprehensive, /metrics, /openapi.json, /docs.
#include <nlohmann/json.hpp>

#include <ctime>

#include "api/server_internal.h"

namespace plinth::api::internal {
namespace {

using nlohmann::json;

constexpr auto kHealthBudget = std::chrono::seconds(2);
constexpr std::string_view kHealthy = "healthy";
constexpr std::string_view kDegraded = "degraded";
constexpr std::string_view kUnhealthy = "unhealthy";

db::Clock::time_point HealthDeadline(const http::Request& req) {
  return std::min(req.deadline(), db::Clock::now() + kHealthBudget);
}

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json DatabaseJson(const Services& s, const data::Health& h) {
  json j = json::object();
  j["status"] = h.ping.connected ? kHealthy : kUnhealthy;
  j["message"] = h.ping.connected ? std::string("Database connection successful")
                                  : "Database connection failed: " + h.ping.status.message();
  j["database_type"] = h.backend;
  j["database_url"] = s.database_url_redacted;
  j["connected"] = h.ping.connected;
  j["latency_ms"] = h.ping.latency_ms;
  if (!h.ping.server_version.empty()) j["server_version"] = h.ping.server_version;
  return j;
}

asio::awaitable<data::Health> CheckHealth(const Services& s, const http::Request& req) {
  DbTimer timer(s, DbOp::kHealth);
  data::Health h = co_await s.runtime->CheckHealth(HealthDeadline(req));
  timer.Observe();
  co_return h;
}

asio::awaitable<http::Response> Live(const Services& s, http::Request& req) {
  json j = {{"status", "ok"},
            {"uptime_seconds", std::chrono::duration<double>(Clock::now() - s.started).count()}};
  co_return http::JsonResponse(200, j);
}

asio::awaitable<http::Response> Ready(const Services& s, http::Request& req) {
  data::Health h = co_await CheckHealth(s, req);
  if (!h.ping.connected || !h.migrations_at_head) {
    http::Problem p;
    p.status = 503;
    p.detail = !h.ping.connected ? "the database cannot be reached: " + h.ping.status.message()
                                 : "the database is at migration '" + h.migration_version + "', the app's head is '" +
                                       s.head_version + "': run plinth migrate up (or serve --migrate)";
    p.headers.push_back({"Retry-After", "1"});
    co_return http::ProblemResponse(req, std::move(p));
  }
  json j = {{"status", "ready"}, {"database", "connected"}, {"migration_version", h.migration_version}};
  co_return http::JsonResponse(200, j);
}

asio::awaitable<http::Response> DatabaseHealth(const Services& s, http::Request& req) {
  data::Health h = co_await CheckHealth(s, req);
  http::Response resp = http::JsonResponse(h.ping.connected ? 200 : 503, DatabaseJson(s, h));
  if (!h.ping.connected) resp.SetHeader("Retry-After", "1");
  co_return resp;
}

asio::awaitable<http::Response> Comprehensive(const Services& s, http::Request& req) {
  data::Health h = co_await CheckHealth(s, req);
  json components = json::object();
  components["backend"] = {{"status", kHealthy},
                           {"message", "API server running"},
                           {"version", "0.1.0"},
                           {"uptime_seconds", std::chrono::duration<double>(Clock::now() - s.started).count()}};
  components["database"] = DatabaseJson(s, h);

  std::string_view pool_status = kHealthy;
  std::string pool_message = "connections available";
  if (h.pool.backing_off) {
    pool_status = kUnhealthy;
    pool_message = "reconnects are backing off after failures";
  } else if (h.pool.max > 0 && h.pool.in_use >= h.pool.max && h.pool.waiting > 0) {
    pool_status = kDegraded;
    pool_message = "every connection is in use and requests are waiting";
  }
  components["pools"] = {{"status", pool_status},   {"message", pool_message},     {"in_use", h.pool.in_use},
                         {"idle", h.pool.idle},      {"shared", h.pool.shared},     {"waiting", h.pool.waiting},
                         {"max", h.pool.max},
                         {"opened", h.pool.opened},  {"timeouts", h.pool.timeouts}, {"round_trip_ms_avg", h.pool.round_trip_ms_avg}};
  components["migrations"] = {{"status", h.migrations_at_head ? kHealthy : kUnhealthy},
                              {"message", h.migrations_at_head ? std::string("at head")
                                                               : "pending migrations: run plinth migrate up"},
                              {"current", h.migration_version},
                              {"head", s.head_version},
                              {"at_head", h.migrations_at_head}};
  if (s.hash_pool != nullptr) {
    const crypto::HashPoolStats hs = s.hash_pool->Stats();
    const bool saturated = hs.queued >= s.hash_pool->queue_capacity();
    components["password_hashing"] = {{"status", saturated ? kDegraded : kHealthy},
                                      {"threads", s.hash_pool->threads()},
                                      {"queued", hs.queued},
                                      {"running", hs.running},
                                      {"rejected", hs.rejected}};
  }
  std::string_view overall = kHealthy;
  for (const auto& [name, c] : components.items()) {
    const std::string st = c.value("status", std::string(kHealthy));
    if (st == kUnhealthy) overall = kUnhealthy;
    else if (st == kDegraded && overall == kHealthy) overall = kDegraded;
  }
  json j = {{"status", overall}, {"timestamp", NowRfc3339()}, {"components", components}};
  http::Response resp = http::JsonResponse(overall == kUnhealthy ? 503 : 200, j);
  if (overall == kUnhealthy) resp.SetHeader("Retry-After", "1");
  co_return resp;
}

asio::awaitable<http::Response> OpenApi(const Services& s, http::Request& req) {
  co_return http::JsonTextResponse(200, s.openapi_json);
}

asio::awaitable<http::Response> Docs(const Services& s, http::Request& req) {
  co_return http::TextResponse(200, s.docs_html, "text/html; charset=utf-8");
}

// Collector sink helper: the pool's numbers at scrape time.
void CollectPool(const data::Runtime& rt, metrics::CollectorSink& sink, bool gauges) {
  const db::PoolStats p = const_cast<data::Runtime&>(rt).database().Stats();
  if (gauges) {
    sink.Sample({"in_use"}, p.in_use);
    sink.Sample({"idle"}, p.idle);
    sink.Sample({"shared"}, p.shared);
    sink.Sample({"waiting"}, p.waiting);
    sink.Sample({"max"}, p.max);
  } else {
    sink.Sample({"opened"}, static_cast<double>(p.opened));
    sink.Sample({"discarded"}, static_cast<double>(p.discarded));
    sink.Sample({"recycled"}, static_cast<double>(p.recycled));
    sink.Sample({"timeouts"}, static_cast<double>(p.timeouts));
    sink.Sample({"batches"}, static_cast<double>(p.batches));
    sink.Sample({"retries"}, static_cast<double>(p.retries));
    sink.Sample({"prepares"}, static_cast<double>(p.prepares));
    sink.Sample({"cancels"}, static_cast<double>(p.cancels));
    sink.Sample({"connect_failures"}, static_cast<double>(p.connect_failures));
    sink.Sample({"commit_unknown"}, static_cast<double>(p.commit_unknown));
    sink.Sample({"group_commits"}, static_cast<double>(p.group_commits));
    sink.Sample({"checkpoints"}, static_cast<double>(p.checkpoints));
    sink.Sample({"writer_checkpoints"}, static_cast<double>(p.writer_checkpoints));
  }
}

}  // namespace

void RegisterServiceMetrics(Services& s) {
  metrics::MetricsRegistry& m = *s.metrics;
  data::Runtime* rt = s.runtime;
  m.AddCollector("plinth_db_pool_connections", "Database pool connections by state (max = size + overflow; shared: in use, carrying many requests' reads)",
                 metrics::Type::kGauge, {"state"}, [rt](metrics::CollectorSink& sink) { CollectPool(*rt, sink, true); });
  m.AddCollector("plinth_db_pool_events_total", "Database pool events since start", metrics::Type::kCounter, {"event"},
                 [rt](metrics::CollectorSink& sink) { CollectPool(*rt, sink, false); });
  m.AddCollector("plinth_db_round_trip_seconds_avg", "Mean wall time of a batch on its connection",
                 metrics::Type::kGauge, {}, [rt](metrics::CollectorSink& sink) {
                   sink.Sample({}, rt->database().Stats().round_trip_ms_avg / 1000.0);
                 });
  metrics::HistogramFamily& calls = m.AddHistogram(
      "plinth_db_call_duration_seconds", "Wall time of the data-runtime call of a request (one round trip)",
      {"operation"}, metrics::LatencyBuckets());
  static constexpr std::string_view kOps[] = {"get", "list", "insert", "upsert", "update", "delete", "health"};
  for (size_t i = 0; i < static_cast<size_t>(DbOp::kCount); ++i) s.db_latency[i] = &calls.With({kOps[i]});

  metrics::CounterFamily& failures =
      m.AddCounter("plinth_auth_failures_total", "Requests refused by authentication, by reason", {"reason"});
  s.auth_failures_missing = &failures.With({"missing"});
  s.auth_failures_invalid = &failures.With({"invalid"});
  s.auth_failures_forbidden = &failures.With({"forbidden"});
  s.key_rate_limited = &m.AddCounter("plinth_api_rate_limited_total",
                                     "Requests refused by the per-key / per-user rate limit (429)")
                            .Get();
  if (s.authenticator != nullptr) {
    auth::Authenticator* a = s.authenticator;
    m.AddCollector("plinth_auth_events_total", "Authenticator cache and lookup events", metrics::Type::kCounter,
                   {"event"}, [a](metrics::CollectorSink& sink) {
                     const auth::AuthStats st = a->Stats();
                     sink.Sample({"key_cache_hit"}, static_cast<double>(st.key_cache_hits));
                     sink.Sample({"key_cache_miss"}, static_cast<double>(st.key_cache_misses));
                     sink.Sample({"key_lookup"}, static_cast<double>(st.key_lookups));
                     sink.Sample({"session_lookup"}, static_cast<double>(st.session_lookups));
                     sink.Sample({"role_lookup"}, static_cast<double>(st.role_lookups));
                     sink.Sample({"notification"}, static_cast<double>(st.notifications));
                     sink.Sample({"flush"}, static_cast<double>(st.flushes));
                     sink.Sample({"last_used_write"}, static_cast<double>(st.last_used_writes));
                   });
  }
  if (s.hash_pool != nullptr) {
    crypto::HashPool* hp = s.hash_pool;
    m.AddCollector("plinth_hash_pool_jobs", "Password hashing jobs queued and running now", metrics::Type::kGauge,
                   {"state"}, [hp](metrics::CollectorSink& sink) {
                     const crypto::HashPoolStats st = hp->Stats();
                     sink.Sample({"queued"}, static_cast<double>(st.queued));
                     sink.Sample({"running"}, static_cast<double>(st.running));
                   });
    m.AddCollector("plinth_hash_pool_jobs_total", "Password hashing jobs since start, by outcome",
                   metrics::Type::kCounter, {"outcome"}, [hp](metrics::CollectorSink& sink) {
                     const crypto::HashPoolStats st = hp->Stats();
                     sink.Sample({"accepted"}, static_cast<double>(st.accepted));
                     sink.Sample({"completed"}, static_cast<double>(st.completed));
                     sink.Sample({"rejected"}, static_cast<double>(st.rejected));
                   });
  }
}

Status AddHealthRoutes(http::Router& router, const Services& s) {
  const Services* sp = &s;
  PLINTH_RETURN_IF_ERROR(router.Get("/health/live", [sp](http::Request& req) { return Live(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Get("/health/ready", [sp](http::Request& req) { return Ready(*sp, req); }));
  const std::string sys = std::string(rest::kApiPrefix) + "/system/health";
  PLINTH_RETURN_IF_ERROR(router.Get(sys + "/database", [sp](http::Request& req) { return DatabaseHealth(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(
      router.Get(sys + "/comprehensive", [sp](http::Request& req) { return Comprehensive(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Get("/metrics", http::MetricsHandler(*s.metrics)));
  return Status::Ok();
}

Status AddDocumentRoutes(http::Router& router, const Services& s) {
  const Services* sp = &s;
  PLINTH_RETURN_IF_ERROR(router.Get("/openapi.json", [sp](http::Request& req) { return OpenApi(*sp, req); }));
  PLINTH_RETURN_IF_ERROR(router.Get("/docs", [sp](http::Request& req) { return Docs(*sp, req); }));
  return Status::Ok();
}

}  // namespace plinth::api::internal
