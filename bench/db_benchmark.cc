// db_benchmark — the request-path database (plinth::db::Database) against PostgreSQL's own
// floor, in one run on one cluster:
//   read:  SELECT set_config('plinth.tenant_id', $1, true) + a point SELECT by (tenant_id, id)
//   write: set_config + INSERT … RETURNING (the row) + INSERT of an audit row
// each as one batch through Database::Run from 32 coroutines, and the same transactions from
// pgbench, pipelined (\startpipeline … \endpipeline, -M prepared, -c 32 -j 2), as
// ../shared/bench/pg-limit.sh does. Both run as a role that owns nothing, through RLS.
//
// usage: db_benchmark SUPERUSER_URL [seconds_per_round=3] [io_threads=2] [rounds=5]
//   (bench/db.sh starts a throwaway cluster and runs this.) Rounds alternate plinth and pgbench
//   so that load from elsewhere on the machine hits both alike; the ratios are per round.
// Prints "PLINTH read rps=…", "PGBENCH read tps=…", the same for write, and the ratios.
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "plinth/database.h"
#include "plinth/db.h"

const char plinth::bench::kProgramName[] = "db_benchmark";

namespace {

using plinth::Status;
using namespace plinth::bench;
using namespace plinth::db;
using namespace std::chrono_literals;

constexpr int kTenants = 100;
constexpr int kRowsPerTenant = 1000;
constexpr int kConcurrency = 32;
constexpr int kPgbenchThreads = 2;  // pgbench -j
constexpr char kDatabase[] = "plinth_bench";
constexpr char kAppRole[] = "plinth_bench_app";

void Setup(const std::string& admin_url) {
  auto admin = ConnectOrDie(admin_url);
  Check(admin->Exec(std::string("DROP DATABASE IF EXISTS ") + kDatabase + " WITH (FORCE)"), "drop database");
  Check(admin->Exec(std::string("CREATE DATABASE ") + kDatabase), "create database");
  auto r = admin->Query("SELECT 1 FROM pg_roles WHERE rolname = $1", {std::string(kAppRole)});
  if (r.ok() && r->rows.empty()) Check(admin->Exec(std::string("CREATE ROLE ") + kAppRole + " LOGIN"), "create role");
  auto db = ConnectOrDie(WithUserAndDatabase(admin_url, "postgres", kDatabase));
  const std::string app = kAppRole;
  Check(db->Exec(R"(
    CREATE TABLE documents (
      tenant_id int NOT NULL, id bigint NOT NULL, title text NOT NULL, body text, created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, id));
    CREATE SEQUENCE documents_id_seq START 10000000;
    CREATE TABLE audit_logs (
      id bigserial PRIMARY KEY, tenant_id int NOT NULL, action text NOT NULL, resource_id bigint,
      created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO documents (tenant_id, id, title, body)
      SELECT t, i, 'document ' || i, repeat('x', 200) FROM generate_series(1, 100) t, generate_series(1, 1000) i;
    ALTER TABLE documents ENABLE ROW LEVEL SECURITY; ALTER TABLE documents FORCE ROW LEVEL SECURITY;
    ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY; ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant ON documents AS RESTRICTIVE
      USING (tenant_id = (SELECT current_setting('plinth.tenant_id', true)::int))
      WITH CHECK (tenant_id = (SELECT current_setting('plinth.tenant_id', true)::int));
    CREATE POLICY tenant_all ON documents USING (true);
    CREATE POLICY tenant ON audit_logs AS RESTRICTIVE
      USING (tenant_id = (SELECT current_setting('plinth.tenant_id', true)::int))
      WITH CHECK (tenant_id = (SELECT current_setting('plinth.tenant_id', true)::int));
    CREATE POLICY tenant_all ON audit_logs USING (true);
  )"), "schema");
  Check(db->Exec("VACUUM ANALYZE documents"), "vacuum");
  Check(db->Exec("GRANT SELECT, INSERT ON documents, audit_logs TO " + app + ";"
                 "GRANT USAGE ON SEQUENCE documents_id_seq, audit_logs_id_seq TO " + app),
        "grants");
}

const char* kReadSelect = "SELECT tenant_id, id, title, body, created_at FROM documents WHERE tenant_id = $1 AND id = $2";
const char* kSetTenant = "SELECT set_config('plinth.tenant_id', $1, true)";
const char* kInsertDoc =
    "INSERT INTO documents (tenant_id, id, title, body) VALUES ($1, nextval('documents_id_seq'), $2, $3) "
    "RETURNING tenant_id, id, title, created_at";
const char* kInsertAudit = "INSERT INTO audit_logs (tenant_id, action, resource_id) VALUES ($1, 'create', $2)";

// One Database, kept open across rounds (warm: connections open, statements prepared).
class PlinthRunner {
 public:
  PlinthRunner(const std::string& app_url, int io_threads, int postmaster)
      : work_(boost::asio::make_work_guard(io_)), postmaster_(postmaster) {
    auto url = ParseUrl(app_url);
    if (!url.ok()) Die(url.status().ToString());
    PoolOptions options;
    options.size = kConcurrency;
    options.max_overflow = 0;
    auto opened = OpenDatabase(io_, *url, options);
    if (!opened.ok()) Die(opened.status().ToString());
    db_ = std::move(opened).value();
    for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
    Run(false, std::chrono::milliseconds(1000));  // warm up
    Run(true, std::chrono::milliseconds(500));
  }
  ~PlinthRunner() {
    std::promise<void> closed;
    boost::asio::co_spawn(io_, db_->Close(Clock::now() + 5s), [&](std::exception_ptr) { closed.set_value(); });
    closed.get_future().wait();
    db_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  Figures Run(bool write, std::chrono::milliseconds duration) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> done{0}, errors{0};
    std::vector<std::vector<double>> latencies(kConcurrency);
    std::string first_error;
    std::mutex mu;
    auto worker = [&](int w) -> boost::asio::awaitable<void> {
      std::mt19937 gen(static_cast<unsigned>(w * 7919 + 1 + seed_));
      std::uniform_int_distribution<int> tenant(1, kTenants), row(1, kRowsPerTenant);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string t = std::to_string(tenant(gen));
        Batch batch;
        if (write) {
          batch.mode = BatchMode::kWrite;
          batch.statements = {{kSetTenant, {t}}, {kInsertDoc, {t, "bench doc", "body"}}, {kInsertAudit, {t, std::nullopt}}};
        } else {
          batch.mode = BatchMode::kRead;
          batch.statements = {{kSetTenant, {t}}, {kReadSelect, {t, std::to_string(row(gen))}}};
        }
        const auto start = Clock::now();
        BatchOutcome out = co_await db_->Run(std::move(batch), start + 5s);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (out.status.ok() && (write || out.results[1].rows.size() == 1)) {
          done.fetch_add(1, std::memory_order_relaxed);
          latencies[w].push_back(ms);
        } else {
          errors.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = out.status.ok() ? "row not found" : out.status.ToString();
        }
      }
    };
    ++seed_;
    std::vector<std::future<void>> running;
    const double client_before = RusageSeconds(RUSAGE_SELF);
    const double server_before = ServerCpuSeconds(postmaster_);
    const auto start = Clock::now();
    for (int w = 0; w < kConcurrency; ++w) running.push_back(boost::asio::co_spawn(io_, worker(w), boost::asio::use_future));
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& f : running) f.get();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double client_cpu = RusageSeconds(RUSAGE_SELF) - client_before;
    const double server_cpu = ServerCpuSeconds(postmaster_) - server_before;
    Figures f;
    f.per_second = static_cast<double>(done) / elapsed;
    f.transactions = done;
    f.errors = errors;
    f.client_cpu_s = client_cpu;
    f.server_cpu_s = server_cpu;
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    if (!all.empty()) {
      f.p50_ms = all[all.size() / 2];
      f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    }
    if (f.errors) std::cerr << "  first error: " << first_error << std::endl;
    return f;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Database> db_;
  int postmaster_;
  int seed_ = 0;
};

// pgbench's pipelined floor for the same transaction.
std::string PgbenchScript(bool write) {
  std::string script = "\\set t random(1, " + std::to_string(kTenants) + ")\n\\set i random(1, " +
                       std::to_string(kRowsPerTenant) + ")\n\\startpipeline\n";
  script += "SELECT set_config('plinth.tenant_id', :t::text, true);\n";
  if (write) {
    script +=
        "INSERT INTO documents (tenant_id, id, title, body) VALUES (:t, nextval('documents_id_seq'), 'bench doc', "
        "'body') RETURNING tenant_id, id, title, created_at;\n"
        "INSERT INTO audit_logs (tenant_id, action, resource_id) VALUES (:t, 'create', NULL);\n";
  } else {
    script += "SELECT tenant_id, id, title, body, created_at FROM documents WHERE tenant_id = :t AND id = :i;\n";
  }
  script += "\\endpipeline\n";
  return script;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: db_benchmark SUPERUSER_URL [seconds_per_round] [io_threads] [rounds]\n";
    return 2;
  }
  const std::string admin_url = argv[1];
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int io_threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  Setup(admin_url);
  const std::string app_url = WithUserAndDatabase(admin_url, kAppRole, kDatabase);
  std::printf("# %d tenants x %d rows, %d concurrent; %d rounds of %d s per contestant, interleaved; plinth on %d "
              "io thread(s), pgbench -M prepared pipelined -j 2\n",
              kTenants, kRowsPerTenant, kConcurrency, rounds, seconds, io_threads);
  std::fflush(stdout);
  const int postmaster = PostmasterPid(admin_url);
  PlinthRunner plinth(app_url, io_threads, postmaster);
  // DB_BENCH_ONLY=plinth-read runs only that (for profiling).
  if (const char* only = std::getenv("DB_BENCH_ONLY"); only && std::string(only) == "plinth-read") {
    Figures f = plinth.Run(false, std::chrono::seconds(seconds));
    std::printf("PLINTH read rps=%.0f\n", f.per_second);
    return 0;
  }
  uint64_t errors = 0;
  for (bool write : {false, true}) {
    const char* what = write ? "write" : "read";
    std::vector<double> ours, floor, ratios, p50, p99, cpu_ours, cpu_floor, client_ours, client_floor;
    for (int r = 0; r < rounds; ++r) {
      Figures f = plinth.Run(write, std::chrono::seconds(seconds));
      errors += f.errors;
      const Figures g = RunPgbench({.url = app_url,
                                    .script = PgbenchScript(write),
                                    .clients = kConcurrency,
                                    .threads = kPgbenchThreads,
                                    .seconds = seconds,
                                    .postmaster = postmaster});
      ours.push_back(f.per_second);
      floor.push_back(g.per_second);
      ratios.push_back(f.per_second / g.per_second);
      p50.push_back(f.p50_ms);
      p99.push_back(f.p99_ms);
      cpu_ours.push_back(f.CpuPerTxUs());
      cpu_floor.push_back(g.CpuPerTxUs());
      client_ours.push_back(f.client_cpu_s * 1e6 / std::max<uint64_t>(f.transactions, 1));
      client_floor.push_back(g.client_cpu_s * 1e6 / std::max<uint64_t>(g.transactions, 1));
      std::printf("  round %d %s: plinth %.0f/s (p50 %.2f ms, p99 %.2f ms; CPU/tx %.1f us = client %.1f + server %.1f), "
                  "pgbench %.0f tps (CPU/tx %.1f us = client %.1f + server %.1f)\n",
                  r + 1, what, f.per_second, f.p50_ms, f.p99_ms, f.CpuPerTxUs(), client_ours.back(),
                  f.CpuPerTxUs() - client_ours.back(), g.per_second, g.CpuPerTxUs(), client_floor.back(),
                  g.CpuPerTxUs() - client_floor.back());
      std::fflush(stdout);
    }
    std::printf("PLINTH %s rps=%.0f p50_ms=%.2f p99_ms=%.2f cpu_per_tx_us=%.1f client_cpu_per_tx_us=%.1f (medians)\n",
                what, Median(ours), Median(p50), Median(p99), Median(cpu_ours), Median(client_ours));
    std::printf("PGBENCH %s tps=%.0f cpu_per_tx_us=%.1f client_cpu_per_tx_us=%.1f (medians)\n", what, Median(floor),
                Median(cpu_floor), Median(client_floor));
    std::printf("RATIO %s wall=%.2f (median of per-round throughput ratios) cpu=%.2f (pgbench CPU per tx / "
                "plinth CPU per tx: the throughput ratio on a dedicated machine)%s\n",
                what, Median(ratios), Median(cpu_floor) / Median(cpu_ours), write ? "" : "; goal >= 0.80");
    std::fflush(stdout);
  }
  return errors == 0 ? 0 : 1;
}
