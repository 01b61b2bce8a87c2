// runtime_benchmark — the data runtime (plinth::data::Runtime) on PostgreSQL against
// PostgreSQL's own pipelined floor, in one run on one cluster (issue 3's benchmark):
//   read:  Runtime::Get of a tenant-scoped row by id — one batch: the principal's claims
//          (one set_config per setting the policies read), the point SELECT (tenant_id = $tenant AND id = $id) through RLS
//   write: Runtime::Insert of a row — one batch: claims, INSERT … RETURNING, the audit row
// from 32 coroutines, against the same transactions from pgbench, pipelined (\startpipeline …
// \endpipeline, -M prepared, -c 32 -j 2, tenant and row as literals) as ../shared/bench/pg-limit.sh does. Both run as the
// runtime role (owns nothing, no BYPASSRLS), the schema migrated by plinth as the owner role.
//
// usage: runtime_benchmark SUPERUSER_URL [seconds_per_round=3] [io_threads=2] [rounds=5]
//   (bench/runtime.sh starts a throwaway cluster and runs this.) Rounds alternate plinth and
//   pgbench so that load from elsewhere on the machine hits both alike; ratios are per round,
//   and a CPU-per-transaction ratio is printed beside the wall-clock one.
// Prints "RUNTIME read rps=…", "PGBENCH read tps=…", the same for write, and "RATIO …".
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
#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

const char plinth::bench::kProgramName[] = "runtime_benchmark";

namespace {

using plinth::Status;
using namespace plinth::bench;
using namespace plinth::db;
using namespace std::chrono_literals;
namespace data = plinth::data;

constexpr int kTenants = 100;
constexpr int kRowsPerTenant = 1000;
constexpr int kConcurrency = 32;
constexpr int kPgbenchThreads = 2;  // pgbench -j
constexpr char kDatabase[] = "plinth_rtbench";
constexpr char kOwnerRole[] = "plinth_rtbench_owner";
constexpr char kAppRole[] = "plinth_rtbench_app";

// The tenant workload's documents table (../shared/bench/README.md) as a plinth schema.
constexpr char kSchema[] = R"toml(
[app]
name = "bench"
tenants = "tenants"

[table.tenants]
columns.id   = { type = "uuid", primary_key = true, default = "uuid" }
columns.name = { type = "text(200)", not_null = true }

[[table.tenants.policies]]
name = "tenant_reads_itself"
for = "select"
using = "id = auth.tenant_id()"

[table.documents]
tenant_scoped = true
columns.id           = { type = "uuid", primary_key = true, default = "uuid" }
columns.user_id      = { type = "uuid" }
columns.title        = { type = "text(500)", not_null = true }
columns.content_hash = { type = "text(64)" }
columns.metadata     = { type = "json", not_null = true, default = "{}" }
timestamps = true

[[table.documents.policies]]
name = "tenant_members"
for = "all"
using = "tenant_id = auth.tenant_id()"
)toml";

// Canonical ids of tenant t and of row i of it.
std::string TenantId(int t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-000000000000", t);
  return buf;
}
std::string RowId(int t, int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", t, i);
  return buf;
}
// The same in SQL (for the seed).
constexpr char kTenantSql[] = "(lpad(to_hex(%s), 8, '0') || '-0000-4000-8000-000000000000')";
constexpr char kRowSql[] = "(lpad(to_hex(%s), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(%s), 12, '0'))";

std::string Fmt(const char* f, const std::string& a, const std::string& b = "") {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a.c_str(), b.c_str());
  return buf;
}

plinth::schema::Schema LoadBenchSchema() {
  plinth::Diagnostics diags;
  auto s = plinth::schema::LoadSchemaText(kSchema, "bench.toml", diags);
  if (!s.ok()) Die(diags.ToString());
  return std::move(s).value();
}

void Setup(const std::string& admin_url, const plinth::schema::Schema& s) {
  auto admin = ConnectOrDie(admin_url);
  Check(admin->Exec(std::string("DROP DATABASE IF EXISTS ") + kDatabase + " WITH (FORCE)"), "drop database");
  Check(admin->Exec(std::string("CREATE DATABASE ") + kDatabase), "create database");
  auto db = ConnectOrDie(WithUserAndDatabase(admin_url, "postgres", kDatabase));
  data::RoleOptions ro;
  ro.database = kDatabase;
  ro.owner_role = kOwnerRole;
  ro.runtime_role = kAppRole;
  auto roles = data::RoleStatements(ro);
  if (!roles.ok()) Die(roles.status().ToString());
  for (const auto& st : *roles) Check(db->Exec(st), st);
  // The migrations, as the owner: what plinth migrate up does.
  auto diff = plinth::migrate::Diff(plinth::schema::Schema{}, s, plinth::migrate::DiffOptions{});
  if (!diff.ok()) Die(diff.status().ToString());
  plinth::migrate::Migration m;
  m.version = "0001";
  m.name = "bench";
  m.up = diff->up;
  m.down = diff->down;
  plinth::Diagnostics diags;
  auto parsed = plinth::migrate::ParseMigration(plinth::migrate::ToFileText(m), "0001_bench.json", diags);
  if (!parsed.ok()) Die(parsed.status().ToString());
  auto owner_url = ParseUrl(WithUserAndDatabase(admin_url, kOwnerRole, kDatabase));
  auto up = plinth::runner::Up(*owner_url, {*parsed}, "head", plinth::runner::RunOptions{});
  if (!up.ok()) Die("migrate: " + up.status().ToString());
  Check(db->Exec("INSERT INTO tenants (id, name) SELECT " + Fmt(kTenantSql, "t") +
                 "::uuid, 'tenant ' || t FROM generate_series(1, " + std::to_string(kTenants) + ") t"),
        "seed tenants");
  Check(db->Exec("INSERT INTO documents (tenant_id, id, title, metadata) SELECT " + Fmt(kTenantSql, "t") + "::uuid, " +
                 Fmt(kRowSql, "t", "i") + "::uuid, 'document ' || i, '{\"n\":1}' FROM generate_series(1, " +
                 std::to_string(kTenants) + ") t, generate_series(1, " + std::to_string(kRowsPerTenant) + ") i"),
        "seed documents");
  Check(db->Exec("VACUUM ANALYZE"), "vacuum");
}


// One Runtime, kept open across rounds (warm: connections open, statements prepared).
class RuntimeRunner {
 public:
  RuntimeRunner(const std::string& app_url, const plinth::schema::Schema& s, int io_threads, int postmaster)
      : work_(boost::asio::make_work_guard(io_)), postmaster_(postmaster) {
    // The ids, formatted once: the loop measures the runtime, not snprintf (pgbench's \set
    // costs nothing either).
    tenant_ids_.resize(kTenants + 1);
    row_ids_.resize(kTenants + 1);
    for (int t = 1; t <= kTenants; ++t) {
      tenant_ids_[static_cast<size_t>(t)] = TenantId(t);
      row_ids_[static_cast<size_t>(t)].resize(kRowsPerTenant + 1);
      for (int i = 1; i <= kRowsPerTenant; ++i) row_ids_[static_cast<size_t>(t)][static_cast<size_t>(i)] = RowId(t, i);
    }
    auto url = ParseUrl(app_url);
    if (!url.ok()) Die(url.status().ToString());
    PoolOptions defaults;
    defaults.size = kConcurrency;
    defaults.max_overflow = 0;
    auto env = PoolOptions::FromEnvironment(defaults);  // DB_POOL_SHARED=0: no shared reads
    if (!env.ok()) Die(env.status().ToString());
    PoolOptions options = *env;
    auto opened = OpenDatabase(io_, *url, options);
    if (!opened.ok()) Die(opened.status().ToString());
    for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
    auto rt = boost::asio::co_spawn(io_, Open(s, std::move(opened).value()), boost::asio::use_future).get();
    if (!rt) Die("Runtime::Open failed");
    rt_ = std::move(rt);
    Run(false, std::chrono::milliseconds(1000));  // warm up
    Run(true, std::chrono::milliseconds(500));
  }
  ~RuntimeRunner() {
    std::promise<void> closed;
    boost::asio::co_spawn(io_, rt_->database().Close(Clock::now() + 5s), [&](std::exception_ptr) { closed.set_value(); });
    closed.get_future().wait();
    rt_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  static boost::asio::awaitable<std::unique_ptr<data::Runtime>> Open(plinth::schema::Schema s,
                                                                     std::unique_ptr<Database> db) {
    data::RuntimeOptions o;
    auto rt = co_await data::Runtime::Open(std::move(s), std::move(db), std::move(o), "0001");
    if (!rt.ok()) {
      std::cerr << rt.status().ToString() << std::endl;
      co_return nullptr;
    }
    co_return std::move(rt).value();
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
      data::RequestInfo r;
      r.request_id = "bench";
      std::vector<std::string> all_columns;
      while (!stop.load(std::memory_order_relaxed)) {
        const int t = tenant(gen);
        data::Principal p;
        p.kind = data::Principal::Kind::kApiKey;
        p.tenant_id = tenant_ids_[static_cast<size_t>(t)];
        p.role = "member";
        p.credential_id = "bench-key";
        r.deadline = Clock::now() + 5s;
        const auto start = Clock::now();
        Status st;
        if (write) {
          data::Fields f{{"title", "bench doc"}, {"metadata", "{\"source\":\"plinth\"}"}};
          auto res = co_await rt_->Insert(p, r, "documents", std::move(f));
          st = res.ok() ? Status::Ok() : res.status();
        } else {
          const std::string& id = row_ids_[static_cast<size_t>(t)][static_cast<size_t>(row(gen))];
          auto res = co_await rt_->Get(p, r, "documents", id, all_columns);
          st = res.ok() ? Status::Ok() : res.status();
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (st.ok()) {
          done.fetch_add(1, std::memory_order_relaxed);
          latencies[w].push_back(ms);
        } else {
          errors.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = st.ToString();
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
    Figures f;
    f.client_cpu_s = RusageSeconds(RUSAGE_SELF) - client_before;
    f.server_cpu_s = ServerCpuSeconds(postmaster_) - server_before;
    f.per_second = static_cast<double>(done) / elapsed;
    f.transactions = done;
    f.errors = errors;
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
  std::unique_ptr<data::Runtime> rt_;
  int postmaster_;
  int seed_ = 0;
  std::vector<std::string> tenant_ids_;
  std::vector<std::vector<std::string>> row_ids_;
};

// pgbench's pipelined floor for the same transaction, in pg-limit.sh's form: one set_config and
// the statement with the tenant and the row as literals. (Computing random ids in SQL — pgbench's
// variables are integers, and the ids are uuids — cost the server more than the lookup itself:
// 7,500 against 10,400 tps in one run, so the floor reads one fixed row, as pg-limit.sh does,
// while the runtime reads random rows of random tenants. The comparison favours pgbench.)
std::string PgbenchScript(bool write) {
  const std::string tenant = "'" + TenantId(kTenants / 2) + "'";
  std::string script = "\\startpipeline\n";
  script += "SELECT set_config('plinth.tenant_id', " + tenant + ", true);\n";
  if (write) {
    script += "INSERT INTO documents (tenant_id, title, metadata) VALUES (" + tenant +
              ", 'limit doc', '{\"source\":\"pgbench\"}') RETURNING id, created_at;\n"
              "INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name, changes) VALUES (" +
              tenant + ", 'api_key', 'insert', 'documents', '{}');\n";
  } else {
    script +=
        "SELECT tenant_id, id, user_id, title, content_hash, metadata, created_at, updated_at FROM documents "
        "WHERE tenant_id = " + tenant + " AND id = '" + RowId(kTenants / 2, kRowsPerTenant / 2) + "';\n";
  }
  script += "\\endpipeline\n";
  return script;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: runtime_benchmark SUPERUSER_URL [seconds_per_round] [io_threads] [rounds]\n";
    return 2;
  }
  const std::string admin_url = argv[1];
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int io_threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  const plinth::schema::Schema schema = LoadBenchSchema();
  Setup(admin_url, schema);
  const std::string app_url = WithUserAndDatabase(admin_url, kAppRole, kDatabase);
  std::printf("# %d tenants x %d rows, %d concurrent; %d rounds of %d s per contestant, interleaved; the runtime on "
              "%d io thread(s), pgbench -M prepared pipelined -j 2; both as the runtime role through RLS\n",
              kTenants, kRowsPerTenant, kConcurrency, rounds, seconds, io_threads);
  std::fflush(stdout);
  const int postmaster = PostmasterPid(admin_url);
  RuntimeRunner runtime(app_url, schema, io_threads, postmaster);
  // RUNTIME_BENCH_ONLY=read|write runs only the runtime's reads or writes (for profiling).
  if (const char* only = std::getenv("RUNTIME_BENCH_ONLY"); only && (std::string(only) == "read" || std::string(only) == "write")) {
    const bool write = std::string(only) == "write";
    Figures f = runtime.Run(write, std::chrono::seconds(seconds));
    std::printf("RUNTIME %s rps=%.0f client_cpu_per_tx_us=%.1f\n", only, f.per_second, f.ClientCpuPerTxUs());
    return 0;
  }
  uint64_t errors = 0;
  for (bool write : {false, true}) {
    const char* what = write ? "write" : "read";
    std::vector<double> ours, floor, ratios, p50, p99, cpu_ours, cpu_floor;
    for (int r = 0; r < rounds; ++r) {
      Figures f = runtime.Run(write, std::chrono::seconds(seconds));
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
      std::printf("  round %d %s: runtime %.0f/s (p50 %.2f ms, p99 %.2f ms; CPU/tx %.1f us = client %.1f + server %.1f), "
                  "pgbench %.0f tps (CPU/tx %.1f us = client %.1f + server %.1f)\n",
                  r + 1, what, f.per_second, f.p50_ms, f.p99_ms, f.CpuPerTxUs(), f.ClientCpuPerTxUs(), f.ServerCpuPerTxUs(),
                  g.per_second, g.CpuPerTxUs(), g.ClientCpuPerTxUs(), g.ServerCpuPerTxUs());
      std::fflush(stdout);
    }
    std::printf("RUNTIME %s rps=%.0f p50_ms=%.2f p99_ms=%.2f cpu_per_tx_us=%.1f (medians)\n", what, Median(ours),
                Median(p50), Median(p99), Median(cpu_ours));
    std::printf("PGBENCH %s tps=%.0f cpu_per_tx_us=%.1f (medians)\n", what, Median(floor), Median(cpu_floor));
    std::printf("RATIO %s wall=%.2f (median of per-round throughput ratios) cpu=%.2f (pgbench CPU per tx / "
                "runtime CPU per tx: the throughput ratio on a dedicated machine)%s\n",
                what, Median(ratios), Median(cpu_floor) / Median(cpu_ours), write ? "" : "; goal >= 0.80");
    std::fflush(stdout);
  }
  return errors == 0 ? 0 : 1;
}
