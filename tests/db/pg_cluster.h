// tests/db/pg_cluster.h — throwaway PostgreSQL clusters of a test's own, for fault tests that
// must stop, restart or promote a server (which the shared $PLINTH_TEST_PG_URL cluster cannot
// allow): a fresh primary (scripts/pg.sh: initdb, trust auth, loopback only, wal_level=replica),
// a streaming replica of it (pg_basebackup -R), and stop / start / restart / promote. A new
// cluster is a copy of one template data directory per machine (initdb runs once).
//
// Ports: PLINTH_TEST_PORT_RANGE="LO-HI" picks free ports in that range (for shared machines
// where each developer owns a range); otherwise the kernel picks a free ephemeral port.
// Everything runs as the `postgres` system user when the test runs as root.
//
// Thread-safety: one object per test; the commands block the calling thread (call them from
// the test thread, not from an io_context thread).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#ifndef PLINTH_SOURCE_DIR
#error "PLINTH_SOURCE_DIR must name the source tree (scripts/pg.sh)"
#endif

namespace plinth::testing {

class PgCluster {
 public:
  // A new primary on a free port. Null (with *error set) when it could not start.
  static std::unique_ptr<PgCluster> Create(std::string* error) {
    std::string tpl;
    if (!EnsureTemplate(&tpl, error)) return nullptr;
    constexpr int kAttempts = 3;  // a port found free may be taken before the server binds it
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      auto c = std::unique_ptr<PgCluster>(new PgCluster(FreePort()));
      if (c->dir_.empty()) {
        *error = "mkdtemp failed";
        return nullptr;
      }
      std::string out;
      // A copy of the template is a fresh cluster; pg.sh sees PG_VERSION and only starts it.
      if (!Shell("cp -a " + tpl + " " + c->dir_ + "/data && " + ChownCommand(c->dir_), &out)) {
        *error = "copying the template cluster failed: " + out;
        return nullptr;
      }
      if (Shell(Script() + " start " + c->dir_ + " " + std::to_string(c->port_), &out)) return c;
      *error = "scripts/pg.sh start failed: " + out + c->ServerLog();
    }
    return nullptr;
  }

  // A streaming replica of this cluster, started (hot standby), on another free port.
  std::unique_ptr<PgCluster> CreateReplica(std::string* error) {
    auto r = std::unique_ptr<PgCluster>(new PgCluster(FreePort()));
    std::string out;
    if (!Shell(ChownCommand(r->dir_), &out)) {
      *error = "chown: " + out;
      return nullptr;
    }
    if (!Shell(AsPostgres() + Bin() + "/pg_basebackup -c fast --no-sync -D " + r->dir_ + "/data -R -X stream -h 127.0.0.1 -p " +
                   std::to_string(port_) + " -U postgres",
               &out)) {
      *error = "pg_basebackup failed: " + out;
      return nullptr;
    }
    if (!Shell(Script() + " start " + r->dir_ + " " + std::to_string(r->port_), &out)) {
      *error = "starting the replica failed: " + out + r->ServerLog();
      return nullptr;
    }
    return r;
  }

  ~PgCluster() {
    if (dir_.empty()) return;
    std::string out;
    Shell(Script() + " stop " + dir_, &out);  // immediate stop, removes the directory
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // Superuser URI of `database` (sslmode=disable: the TCP proxy parses the protocol).
  std::string Url(const std::string& database = "postgres") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database + "?sslmode=disable";
  }

  // pg_ctl stop / start / restart / promote; false (with the output in *out) on failure.
  bool Stop(const std::string& mode = "fast", std::string* out = nullptr) {
    return PgCtl("-m " + mode + " stop", out);
  }
  bool Start(std::string* out = nullptr) {
    std::string o;
    bool ok = Shell(Script() + " start " + dir_ + " " + std::to_string(port_), &o);
    if (out) *out = o + ServerLog();
    return ok;
  }
  bool Restart(const std::string& mode = "fast", std::string* out = nullptr) {
    return PgCtl("-m " + mode + " -l " + dir_ + "/server.log restart", out);
  }
  bool Promote(std::string* out = nullptr) { return PgCtl("promote", out); }

  std::string ServerLog() const {
    std::string out;
    Shell("tail -n 20 " + dir_ + "/server.log 2>/dev/null", &out);
    return out.empty() ? "" : "\nserver.log:\n" + out;
  }

 private:
  explicit PgCluster(int port) : port_(port) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "plinth-pgc-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }

  bool PgCtl(const std::string& args, std::string* out) {
    std::string o;
    bool ok = Shell(AsPostgres() + Bin() + "/pg_ctl -D " + dir_ + "/data -w -t 60 " + args, &o);
    if (out) *out = o + ServerLog();
    return ok;
  }

  // One initialised data directory per machine and PostgreSQL version (initdb -N: without
  // fsync, which made initdb take seconds), made once under a file lock and renamed into
  // place, so that concurrent test processes share it and never see a partial one.
  static bool EnsureTemplate(std::string* path, std::string* error) {
    const std::string bin = Bin();
    const std::string version = std::filesystem::path(bin).parent_path().filename().string();
    const std::string tpl = (std::filesystem::temp_directory_path() /
                             ("plinth-pgc-template-" + version + "-" + std::to_string(::geteuid())))
                                .string();
    *path = tpl;
    if (std::filesystem::exists(tpl + "/PG_VERSION")) return true;
    int lock = ::open((tpl + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
      *error = "cannot lock " + tpl + ".lock";
      if (lock >= 0) ::close(lock);
      return false;
    }
    bool ok = true;
    if (!std::filesystem::exists(tpl + "/PG_VERSION")) {
      std::string work = tpl + ".work-" + std::to_string(::getpid());
      std::string out;
      ok = Shell("rm -rf " + work + " && mkdir -p " + work + " && " + ChownCommand(work) + " && " + AsPostgres() +
                     bin + "/initdb -N -D " + work + "/data -A trust -U postgres -E UTF8 --locale=C.UTF-8 && mv " +
                     work + "/data " + tpl + " && rm -rf " + work,
                 &out);
      if (!ok) *error = "initdb of the template cluster failed: " + out;
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return ok;
  }

  static std::string Script() { return std::string(PLINTH_SOURCE_DIR) + "/scripts/pg.sh"; }
  static std::string AsPostgres() { return ::geteuid() == 0 ? "runuser -u postgres -- " : ""; }
  static std::string ChownCommand(const std::string& dir) {
    return ::geteuid() == 0 ? "chown postgres " + dir : "true";
  }
  static std::string Bin() {
    static const std::string bin = [] {
      std::string out;
      Shell("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1", &out);
      while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
      return out;
    }();
    return bin;
  }

  // Runs a shell command; its output (stdout and stderr) in *out; true when it exited 0.
  static bool Shell(const std::string& cmd, std::string* out) {
    out->clear();
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return false;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out->append(buf.data(), n);
    return ::pclose(p) == 0;
  }

  static bool PortFree(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return free;
  }

  static int FreePort() {
    if (const char* range = std::getenv("PLINTH_TEST_PORT_RANGE")) {
      int lo = 0, hi = 0;
      if (std::sscanf(range, "%d-%d", &lo, &hi) == 2 && lo > 0 && hi >= lo) {
        std::random_device rd;
        std::uniform_int_distribution<int> pick(lo, hi);
        for (int i = 0; i < 200; ++i) {
          int port = pick(rd);
          if (PortFree(port)) return port;
        }
      }
    }
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  int port_;
  std::string dir_;
};

}  // namespace plinth::testing
