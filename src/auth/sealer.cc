// The server's background audit sealer (auth_audit.h, BackgroundSealer): SealAll on a thread
// and a connection of its own, every interval.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "plinth/auth_audit.h"

namespace plinth::audit {

struct BackgroundSealer::Impl {
  db::Url url;
  SealerOptions options;
  std::unique_ptr<db::Connection> conn;  // used by one thread at a time (run_mu)

  std::mutex run_mu;  // one sealing run at a time (the thread's, SealNow's)
  mutable std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;  // guarded by mu
  Stats stats;            // guarded by mu
  std::thread thread;

  Result<SealReport> RunOnce() {
    std::lock_guard<std::mutex> run(run_mu);
    if (!conn) {
      auto c = db::Connect(url, options.connect);
      if (!c.ok()) return c.status().WithContext("audit sealer: connecting");
      conn = std::move(c).value();
    }
    Result<SealReport> r = SealAll(*conn, options.seal);
    std::lock_guard<std::mutex> lock(mu);
    ++stats.runs;
    if (!r.ok()) {
      ++stats.failures;
      conn.reset();  // a fresh connection next time (the server may have restarted)
      return r;
    }
    stats.rows_sealed += static_cast<uint64_t>(r->rows);
    stats.head_pos = r->head_pos;
    return r;
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      wake.wait_for(lock, options.interval, [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      Result<SealReport> r = RunOnce();
      if (!r.ok() && options.on_error) options.on_error(r.status());
      lock.lock();
    }
  }
};

BackgroundSealer::BackgroundSealer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<BackgroundSealer>> BackgroundSealer::Start(const db::Url& url, SealerOptions options) {
  if (options.interval <= std::chrono::milliseconds(0)) {
    return Status(Code::kInvalidArgument, "the audit sealer's interval must be positive");
  }
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  impl->options = std::move(options);
  PLINTH_ASSIGN_OR_RETURN(impl->conn, db::Connect(url, impl->options.connect));
  if (impl->conn->backend() == db::Backend::kSqlite) {
    // One process owns the file: the chain tables are created here when missing. On
    // PostgreSQL InstallAuthSupport (plinth seed, serve --migrate) created them and the
    // sealing function; the runtime role could not.
    PLINTH_RETURN_IF_ERROR(InstallChain(*impl->conn));
  }
  // A first run proves that this role may seal, before the server says it is ready.
  PLINTH_RETURN_IF_ERROR(impl->RunOnce().status().WithContext("audit sealer"));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<BackgroundSealer>(new BackgroundSealer(std::move(impl)));
}

BackgroundSealer::~BackgroundSealer() { Stop(); }

void BackgroundSealer::Stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  Result<SealReport> last = impl_->RunOnce();
  if (!last.ok() && impl_->options.on_error) impl_->options.on_error(last.status());
}

Result<SealReport> BackgroundSealer::SealNow() { return impl_->RunOnce(); }

BackgroundSealer::Stats BackgroundSealer::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace plinth::audit
