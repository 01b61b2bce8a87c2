// The buffered JSON access log (http/access_log.h).
#include "http/access_log.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "http/internal.h"

namespace plinth::http {

namespace {

std::atomic<uint64_t> g_next_log_id{1};

size_t RoundUpPowerOfTwo(size_t n) {
  size_t p = 4096;
  while (p < n) p <<= 1;
  return p;
}

void AppendDecimal(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Writes all of [p, p+n) or gives up on an error other than EINTR.
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void AppendAccessLine(std::string& out, const AccessRecord& r) {
  out += "{\"time\":\"";
  AppendRfc3339Now(out);
  out += "\",\"request_id\":";
  AppendJsonString(out, r.request_id);
  out += ",\"method\":";
  AppendJsonString(out, r.method);
  out += ",\"path\":";
  AppendJsonString(out, r.path);
  out += ",\"route\":";
  AppendJsonString(out, r.route);
  out += ",\"status\":";
  AppendDecimal(out, static_cast<uint64_t>(r.status < 0 ? 0 : r.status));
  out += ",\"duration_ms\":";
  char buf[32];
  double ms = r.duration_ms < 0 ? 0 : r.duration_ms;
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
  out.append(buf, ec == std::errc() ? end : buf);
  if (ec != std::errc()) out += '0';
  out += ",\"bytes_in\":";
  AppendDecimal(out, r.bytes_in);
  out += ",\"bytes_out\":";
  AppendDecimal(out, r.bytes_out);
  out += ",\"remote_ip\":";
  AppendJsonString(out, r.remote_ip);
  out += ",\"user_agent\":";
  AppendJsonString(out, r.user_agent);
  out += ",\"principal\":";
  if (r.principal.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, r.principal);
  }
  if (!r.error.empty()) {
    out += ",\"error\":";
    AppendJsonString(out, r.error);
  }
  out += "}\n";
}

// A single-producer single-consumer byte ring: the owning I/O thread appends whole lines, the
// writer thread takes everything between tail and head.
struct AccessLog::Ring {
  explicit Ring(size_t capacity)
      : data(std::make_unique<char[]>(capacity)), mask(capacity - 1), capacity(capacity) {}
  std::unique_ptr<char[]> data;
  const size_t mask;
  const size_t capacity;
  alignas(64) std::atomic<uint64_t> head{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail{0};  // written by the consumer
};

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const AccessLogOptions& options) {
  if (options.path.empty()) return std::unique_ptr<AccessLog>();
  if (options.path == "-") {
    return std::unique_ptr<AccessLog>(new AccessLog(STDOUT_FILENO, false, options));
  }
  int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(Code::kIoError,
                  "cannot open the access log " + options.path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AccessLog>(new AccessLog(fd, true, options));
}

AccessLog::AccessLog(int fd, bool owns_fd, const AccessLogOptions& options)
    : id_(g_next_log_id.fetch_add(1)),
      fd_(fd),
      owns_fd_(owns_fd),
      ring_bytes_(RoundUpPowerOfTwo(options.buffer_bytes_per_thread)),
      interval_(options.flush_interval.count() > 0 ? options.flush_interval
                                                   : std::chrono::milliseconds(100)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (owns_fd_) ::close(fd_);
}

AccessLog::Ring& AccessLog::ThreadRing() {
  struct CacheEntry {
    uint64_t log_id = 0;
    Ring* ring = nullptr;
  };
  thread_local std::array<CacheEntry, 4> cache;
  thread_local size_t next_slot = 0;
  for (const CacheEntry& e : cache) {
    if (e.log_id == id_) return *e.ring;
  }
  Ring* ring;
  {
    std::lock_guard lock(rings_mu_);
    rings_.push_back(std::make_unique<Ring>(ring_bytes_));
    ring = rings_.back().get();
  }
  cache[next_slot] = CacheEntry{id_, ring};
  next_slot = (next_slot + 1) % cache.size();
  return *ring;
}

void AccessLog::Write(std::string_view line) {
  Ring& r = ThreadRing();
  uint64_t head = r.head.load(std::memory_order_relaxed);
  uint64_t tail = r.tail.load(std::memory_order_acquire);
  if (r.capacity - (head - tail) < line.size()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  size_t pos = head & r.mask;
  size_t first = std::min(line.size(), r.capacity - pos);
  std::memcpy(r.data.get() + pos, line.data(), first);
  if (first < line.size()) std::memcpy(r.data.get(), line.data() + first, line.size() - first);
  r.head.store(head + line.size(), std::memory_order_release);
  if ((head + line.size() - tail) * 2 > r.capacity &&
      !wake_pending_.exchange(true, std::memory_order_relaxed)) {
    wake_.notify_one();
  }
}

void AccessLog::DrainAll() {
  std::vector<Ring*> rings;
  {
    std::lock_guard lock(rings_mu_);
    rings.reserve(rings_.size());
    for (auto& r : rings_) rings.push_back(r.get());
  }
  for (Ring* r : rings) {
    uint64_t tail = r->tail.load(std::memory_order_relaxed);
    uint64_t head = r->head.load(std::memory_order_acquire);
    if (head == tail) continue;
    size_t n = static_cast<size_t>(head - tail);
    size_t pos = tail & r->mask;
    size_t first = std::min(n, r->capacity - pos);
    WriteAll(fd_, r->data.get() + pos, first);
    if (first < n) WriteAll(fd_, r->data.get(), n - first);
    r->tail.store(head, std::memory_order_release);
  }
}

void AccessLog::Flush() {
  std::unique_lock lock(mu_);
  uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stop_; });
}

void AccessLog::WriterLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait_for(lock, interval_, [&] {
      return stop_ || flush_requested_ > flush_done_ ||
             wake_pending_.load(std::memory_order_relaxed);
    });
    uint64_t ticket = flush_requested_;
    bool stopping = stop_;
    wake_pending_.store(false, std::memory_order_relaxed);
    lock.unlock();
    DrainAll();
    lock.lock();
    flush_done_ = std::max(flush_done_, ticket);
    flushed_.notify_all();
    if (stopping) break;
  }
}

}  // namespace plinth::http
