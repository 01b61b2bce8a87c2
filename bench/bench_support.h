// bench_support.h — support code shared by the benchmark programs in bench/, and for them only
// (not part of any plinth library; nothing in src/ or tests/ includes it):
//   Die / Check           end the program with a message on stderr ("<kProgramName>: …", exit 1)
//   WithUserAndDatabase   a PostgreSQL URI with another user and database
//   ConnectOrDie          a synchronous db::Connection, or the end of the program
//   the CPU accounting    RusageSeconds (this process or its children), ServerCpuSeconds (a
//                         PostgreSQL server, from /proc: run on the server's host), PostmasterPid
//   Median
//   Figures, RunPgbench   one pgbench run of a custom script and what it measured
//
// Header-only: every function is inline. A program that includes it defines the prefix of its
// error messages once, at namespace scope:
//   const char plinth::bench::kProgramName[] = "db_benchmark";
//
// Thread-safety: the functions are reentrant; Die and Check end the process.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "plinth/db.h"
#include "plinth/status.h"

namespace plinth::bench {

// Defined by the program (see above): the prefix of Die's messages.
extern const char kProgramName[];

[[noreturn]] inline void Die(const std::string& what) {
  std::cerr << kProgramName << ": " << what << std::endl;
  std::exit(1);
}

inline void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

// postgresql://user@host:port/db?x → postgresql://USER@host:port/DATABASE?x (the query, e.g.
// ?host=/socket/dir, is kept; a URI without a user gets one).
inline std::string WithUserAndDatabase(const std::string& uri, const std::string& user, const std::string& database) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@', scheme + 3);
  const size_t host = at == std::string::npos ? scheme + 3 : at + 1;
  const size_t path = uri.find_first_of("/?", host);
  const std::string hostport = uri.substr(host, path == std::string::npos ? std::string::npos : path - host);
  const size_t query = uri.find('?', host);
  const std::string rest = query == std::string::npos ? "" : uri.substr(query);
  return "postgresql://" + user + "@" + hostport + "/" + database + rest;
}

// The errors of ParseUrl and Connect name the URL already (its password redacted).
inline std::unique_ptr<db::Connection> ConnectOrDie(const std::string& url_text) {
  auto url = db::ParseUrl(url_text);
  if (!url.ok()) Die(url.status().ToString());
  auto conn = db::Connect(*url);
  if (!conn.ok()) Die(conn.status().ToString());
  return std::move(conn).value();
}

// The median (the upper one of an even count); 0 for none.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU seconds, for a load-independent comparison: on a machine shared with other work the
// wall-clock rates drift from second to second, but the CPU each stack spends per transaction
// (client + server) does not, and on a dedicated machine where client and server share the
// cores, throughput is cores / (CPU per transaction).
inline double TicksToSeconds(unsigned long long ticks) {
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Fields 14-17 of /proc/PID/stat: utime, stime, cutime, cstime; and field 4, ppid.
// A process may end while it is read (ESRCH): that is "no figures", not an error.
inline bool ReadStat(int pid, int* ppid, unsigned long long* self, unsigned long long* children) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  const std::string text(buf, static_cast<size_t>(n));
  const size_t close = text.rfind(')');
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
inline double ServerCpuSeconds(int postmaster) {
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

// User + system CPU seconds of RUSAGE_SELF or RUSAGE_CHILDREN (the children waited for).
inline double RusageSeconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The pid of the postmaster of the server at `admin_url`: the parent of this connection's backend.
inline int PostmasterPid(const std::string& admin_url) {
  auto admin = ConnectOrDie(admin_url);
  auto r = admin->Query("SELECT pg_backend_pid()");
  if (!r.ok()) Die(r.status().ToString());
  int ppid = 0;
  unsigned long long self = 0, children = 0;
  if (!ReadStat(std::stoi(*r->rows[0][0]), &ppid, &self, &children)) Die("cannot read /proc: run on the server's host");
  return ppid;
}

// What one contestant did in one round. RunPgbench fills per_second, transactions and the CPU.
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

struct PgbenchRun {
  std::string url;     // a libpq URI: whom pgbench connects as
  std::string script;  // the transaction, in pgbench's script language (-f)
  int clients = 0;     // -c
  int threads = 0;     // -j
  int seconds = 0;     // -T
  int postmaster = 0;  // the server whose CPU is counted (PostmasterPid)
};

// Runs `pgbench URL -n -M prepared -c CLIENTS -j THREADS -T SECONDS -f SCRIPT` (the script in a
// temporary directory, removed afterwards) and returns its tps, the transactions it reports as
// processed and the CPU seconds of pgbench and of the server meanwhile. Dies if pgbench fails.
inline Figures RunPgbench(const PgbenchRun& run) {
  char dir[] = "/tmp/plinth-pgbench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) Die("mkdtemp");
  const std::string script = std::string(dir) + "/tx.sql";
  FILE* f = std::fopen(script.c_str(), "w");
  if (!f) Die("cannot write " + script);
  std::fputs(run.script.c_str(), f);
  std::fclose(f);
  const std::string cmd = "pgbench '" + run.url + "' -n -M prepared -c " + std::to_string(run.clients) + " -j " +
                          std::to_string(run.threads) + " -T " + std::to_string(run.seconds) + " -f " + script + " 2>&1";
  const double client_before = RusageSeconds(RUSAGE_CHILDREN);
  const double server_before = ServerCpuSeconds(run.postmaster);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) Die("cannot run pgbench");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  Figures fig;
  fig.client_cpu_s = RusageSeconds(RUSAGE_CHILDREN) - client_before;
  fig.server_cpu_s = ServerCpuSeconds(run.postmaster) - server_before;
  std::remove(script.c_str());
  ::rmdir(dir);
  const size_t pos = out.find("tps = ");
  const size_t processed = out.find("actually processed: ");
  if (pos == std::string::npos || processed == std::string::npos) Die("pgbench failed:\n" + out);
  fig.per_second = std::atof(out.c_str() + pos + 6);
  fig.transactions = std::strtoull(out.c_str() + processed + 20, nullptr, 10);
  return fig;
}

}  // namespace plinth::bench
