// runtime_benchmark — the data runtime (plinth::data::Runtime) on PostgreSQL against
// PostgreSQL's own pipelined floor, in one run on one cluster (issue 3's benchmark):
//   read:  Runtime::Get of a tenant-scoped row by id — one batch: the principal's claims
//          (set_config × 5), the point SELECT (tenant_id = $tenant AND id = $id) through RLS
//   write: Runtime::Insert of a row — one batch: claims, INSERT … RETURNING, the audit row
// from 32 coroutines, against the same transactions from pgbench, pipelined (\startpipeline …
// \endpipeline, -M prepared, -c 32 -j 2) as ../shared/bench/pg-limit.sh does. Both run as the
// runtime role (owns nothing, no BYPASSRLS), the schema migrated by plinth as the owner role.
//
// usage: runtime_benchmark SUPERUSER_URL [seconds_per_round=3] [io_threads=2] [rounds=5]
//   (bench/runtime.sh starts a throwaway cluster and runs this.) Rounds alternate plinth and
//   pgbench so that load from elsewhere on the machine hits both alike; ratios are per round,
//   and a CPU-per-transaction ratio is printed beside the wall-clock one.
// Prints "RUNTIME read rps=…", "PGBENCH read tps=…", the same for write, and "RATIO …".
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "plinth/data.h"
#include "plinth/database.h"
#include "plinth/db.h"
#include "plinth/migrate.h"
#include "plinth/runner.h"
#include "plinth/schema.h"

namespace {

using plinth::Status;
using namespace plinth::db;
using namespace std::chrono_literals;
namespace data = plinth::data;

constexpr int kTenants = 100;
constexpr int kRowsPerTenant = 1000;
constexpr int kConcurrency = 32;
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

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "runtime_benchmark: " << what << std::endl;
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

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
// The same in SQL (for the seed and pgbench).
constexpr char kTenantSql[] = "(lpad(to_hex(%s), 8, '0') || '-0000-4000-8000-000000000000')";
constexpr char kRowSql[] = "(lpad(to_hex(%s), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(%s), 12, '0'))";

std::string Fmt(const char* f, const std::string& a, const std::string& b = "") {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a.c_str(), b.c_str());
  return buf;
}

std::string WithUserAndDatabase(const std::string& uri, const std::string& user, const std::string& db) {
  size_t scheme = uri.find("://");
  size_t at = uri.find('@', scheme + 3);
  size_t host = at == std::string::npos ? scheme + 3 : at + 1;
  size_t path = uri.find_first_of("/?", host);
  std::string hostport = uri.substr(host, path == std::string::npos ? std::string::npos : path - host);
  size_t query = uri.find('?', host);
  std::string rest = query == std::string::npos ? "" : uri.substr(query);
  return "postgresql://" + user + "@" + hostport + "/" + db + rest;
}

std::unique_ptr<Connection> ConnectOrDie(const std::string& url_text) {
  auto url = ParseUrl(url_text);
  if (!url.ok()) Die(url.status().ToString());
  auto conn = Connect(*url);
  if (!conn.ok()) Die(conn.status().ToString());
  return std::move(conn).value();
}

// CPU seconds, for a load-independent comparison: on a machine shared with other work the
// wall-clock rates drift from second to second, but the CPU each stack spends per transaction
// (client + server) does not, and on a dedicated machine where client and server share the
// cores, throughput is cores / (CPU per transaction).
double TicksToSeconds(unsigned long long ticks) { return static_cast<double>(ticks) / ::sysconf(_SC_CLK_TCK); }

// Fields 14-17 of /proc/PID/stat: utime, stime, cutime, cstime; and field 4, ppid.
// A process may end while it is read (ESRCH): that is "no figures", not an error.
bool ReadStat(int pid, int* ppid, unsigned long long* self, unsigned long long* children) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  const std::string text(buf, static_cast<size_t>(n));
  size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 2));
  std::string state;
  long long f[20] = {0};
  rest >> state;
  for (int i = 0; i < 14 && rest; ++i) rest >> f[i];  // fields 4..17
  *ppid = static_cast<int>(f[0]);
  *self = static_cast<unsigned long long>(f[10] + f[11]);
  *children = static_cast<unsigned long long>(f[12] + f[13]);
  return true;
}

// CPU seconds used so far by the server: the postmaster, its live children, and the children
// it has reaped (backends of pgbench's connections, which end with each run).
double ServerCpuSeconds(int postmaster) {
  unsigned long long total = 0;
  int ppid = 0;
  unsigned long long self = 0, children = 0;
  if (ReadStat(postmaster, &ppid, &self, &children)) total += self + children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    if (ReadStat(std::stoi(name), &ppid, &self, &children) && ppid == postmaster) total += self + children;
  }
  return TicksToSeconds(total);
}

double RusageSeconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int PostmasterPid(const std::string& admin_url) {
  auto admin = ConnectOrDie(admin_url);
  auto r = admin->Query("SELECT pg_backend_pid()");
  if (!r.ok()) Die(r.status().ToString());
  int ppid = 0;
  unsigned long long self = 0, children = 0;
  if (!ReadStat(std::stoi(*r->rows[0][0]), &ppid, &self, &children)) Die("cannot read /proc: run on the server's host");
  return ppid;
}

struct Figures {
  double per_second = 0;
  uint64_t transactions = 0;
  uint64_t errors = 0;
  double p50_ms = 0, p99_ms = 0;
  double client_cpu_s = 0, server_cpu_s = 0;
  double CpuPerTxUs() const { return transactions ? (client_cpu_s + server_cpu_s) * 1e6 / transactions : 0; }
  double ClientCpuPerTxUs() const { return transactions ? client_cpu_s * 1e6 / transactions : 0; }
  double ServerCpuPerTxUs() const { return transactions ? server_cpu_s * 1e6 / transactions : 0; }
};


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
    PoolOptions options;
    options.size = kConcurrency;
    options.max_overflow = 0;
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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// pgbench's pipelined floor for the same transaction (pg-limit.sh's form: one set_config).
Figures RunPgbench(const std::string& app_url, bool write, int seconds, int postmaster) {
  char dir[] = "/tmp/plinth-rtbench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) Die("mkdtemp");
  const std::string script = std::string(dir) + "/tx.sql";
  FILE* f = std::fopen(script.c_str(), "w");
  if (!f) Die("cannot write " + script);
  std::fprintf(f, "\\set t random(1, %d)\n\\set i random(1, %d)\n\\startpipeline\n", kTenants, kRowsPerTenant);
  // pgbench -M prepared binds :t and :i as parameters of unknown type: cast them for to_hex.
  const std::string tenant = Fmt(kTenantSql, ":t::int");
  std::fprintf(f, "SELECT set_config('plinth.tenant_id', %s, true);\n", tenant.c_str());
  if (write) {
    std::fprintf(f,
                 "INSERT INTO documents (tenant_id, title, metadata) VALUES (%s::uuid, 'limit doc', '{\"source\":\"pgbench\"}') "
                 "RETURNING id, created_at;\n"
                 "INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name, changes) VALUES (%s::uuid, "
                 "'api_key', 'insert', 'documents', '{}');\n",
                 tenant.c_str(), tenant.c_str());
  } else {
    std::fprintf(f,
                 "SELECT tenant_id, id, user_id, title, content_hash, metadata, created_at, updated_at FROM documents "
                 "WHERE tenant_id = %s::uuid AND id = %s::uuid;\n",
                 tenant.c_str(), Fmt(kRowSql, ":t::int", ":i::int").c_str());
  }
  std::fprintf(f, "\\endpipeline\n");
  std::fclose(f);
  const std::string cmd = "pgbench '" + app_url + "' -n -M prepared -c " + std::to_string(kConcurrency) +
                          " -j 2 -T " + std::to_string(seconds) + " -f " + script + " 2>&1";
  const double client_before = RusageSeconds(RUSAGE_CHILDREN);
  const double server_before = ServerCpuSeconds(postmaster);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) Die("cannot run pgbench");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  Figures fig;
  fig.client_cpu_s = RusageSeconds(RUSAGE_CHILDREN) - client_before;
  fig.server_cpu_s = ServerCpuSeconds(postmaster) - server_before;
  std::remove(script.c_str());
  ::rmdir(dir);
  size_t pos = out.find("tps = ");
  size_t processed = out.find("actually processed: ");
  if (pos == std::string::npos || processed == std::string::npos) Die("pgbench failed:\n" + out);
  fig.per_second = std::atof(out.c_str() + pos + 6);
  fig.transactions = std::strtoull(out.c_str() + processed + 20, nullptr, 10);
  return fig;
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
      const Figures g = RunPgbench(app_url, write, seconds, postmaster);
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
