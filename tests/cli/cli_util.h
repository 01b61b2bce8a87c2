// tests/cli/cli_util.h — running the real `plinth` binary (PLINTH_BINARY) from tests: one run to
// completion, or processes started side by side; temporary app directories made from the
// examples.
//
// Thread-safety: one object per test.
#pragma once

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/temp_dir.h"

extern char** environ;

namespace plinth::cli::testing {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A `plinth` process. Its environment is the test's without DATABASE_URL and PLINTH_APP, plus
// `env`; stdout and stderr go to files (no pipe can fill up).
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
    out_path_ = dir_ / "stdout";
    err_path_ = dir_ / "stderr";
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key == "DATABASE_URL" || key == "PLINTH_APP" || env.count(key)) continue;
      envs.push_back(kv);
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<std::string> argv{PLINTH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execve(cargv[0], cargv.data(), cenv.data());
      ::_exit(127);
    }
    EXPECT_GT(pid_, 0) << "fork failed";
  }
  ~Process() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // What it printed so far.
  std::string Stdout() const { return ReadText(out_path_); }

  RunResult Wait() {
    RunResult r;
    int st = 0;
    if (pid_ > 0 && ::waitpid(pid_, &st, 0) == pid_) {
      done_ = true;
      r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    r.out = ReadText(out_path_);
    r.err = ReadText(err_path_);
    return r;
  }

 private:
  plinth::testing::TempDir dir_;
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  bool done_ = false;
};

inline RunResult RunPlinth(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  Process p(args, env);
  return p.Wait();
}

// "exit N\nstdout:\n…\nstderr:\n…" for failure messages.
inline std::string Show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

inline std::string Example(const std::string& app) { return std::string(PLINTH_SOURCE_DIR) + "/examples/" + app; }

// Copies an example app (schema.toml, migrations/, stages/) into `dir`/app and returns the path.
inline std::string CopyApp(const plinth::testing::TempDir& dir, const std::string& app, bool with_migrations = true) {
  const fs::path to = fs::path(dir.path()) / "app";
  fs::create_directories(to);
  fs::copy_file(Example(app) + "/schema.toml", to / "schema.toml");
  if (with_migrations && fs::exists(Example(app) + "/migrations")) {
    fs::copy(Example(app) + "/migrations", to / "migrations", fs::copy_options::recursive);
  }
  return to.string();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Polls `done` every 10 ms until it holds or `timeout` passes; returns whether it held.
template <typename Pred>
bool Eventually(Pred done, std::chrono::milliseconds timeout = std::chrono::milliseconds(20'000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Whether process `pid` has `path` open.
inline bool HasOpen(pid_t pid, const std::string& path) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code ec2;
    if (fs::read_symlink(e.path(), ec2).string() == path) return true;
  }
  return false;
}

}  // namespace plinth::cli::testing
