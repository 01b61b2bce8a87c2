// http/access_log.h — the structured access log: one JSON object per line, written by a
// background thread so that I/O threads never block on the file.
//
// Each thread that logs gets its own single-producer ring (AccessLogOptions::
// buffer_bytes_per_thread); the writer thread drains every ring every flush_interval, or sooner
// when a ring is half full. A line that does not fit in its ring is dropped and counted.
// Lines of one thread keep their order; lines of different threads may interleave by a flush
// interval. Each line is written whole.
//
// Thread-safety: Write from any thread (lock-free after a thread's first line); Flush from any
// thread but an I/O thread that still has to write lines it waits for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plinth/http.h"

namespace plinth::http {

// The fields of one line. Empty principal → "principal":null; empty error → no "error" field.
struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;  // the path without the query string
  std::string_view route;
  int status = 0;
  double duration_ms = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::string_view remote_ip;
  std::string_view user_agent;
  std::string_view principal;
  std::string_view error;
};

// Appends the record as one JSON line (with the trailing '\n') to `out`.
void AppendAccessLine(std::string& out, const AccessRecord& record);

class AccessLog {
 public:
  // nullptr (and OK) when options.path is empty. kIoError when the file cannot be opened.
  static Result<std::unique_ptr<AccessLog>> Open(const AccessLogOptions& options);
  ~AccessLog();  // writes what is buffered, stops the writer, closes the file
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // `line` ends with '\n'.
  void Write(std::string_view line);
  // Returns once every line written (by any thread) before the call is in the file.
  void Flush();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Ring;
  AccessLog(int fd, bool owns_fd, const AccessLogOptions& options);
  Ring& ThreadRing();
  void WriterLoop();
  void DrainAll();

  const uint64_t id_;
  const int fd_;
  const bool owns_fd_;
  const size_t ring_bytes_;
  const std::chrono::milliseconds interval_;
  std::mutex rings_mu_;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  bool stop_ = false;
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

}  // namespace plinth::http
