// db/async_util.h — small Asio building blocks of the request-path database (internal).
//
// OneShot<T>: a value delivered once, from any thread, to the one coroutine that awaits it;
// the coroutine resumes on its own executor (the completion is posted there, with outstanding
// work held so that io_context::run does not return while it waits).
// Timer-bounded waits are built by starting an Asio timer whose handler delivers the timeout
// value through the same OneShot: whichever Set comes first wins.
//
// Thread-safety: OneShot::Set may be called from any thread, concurrently with Wait; Wait is
// called at most once.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

namespace plinth::db::detail {

namespace asio = boost::asio;

template <typename T>
class OneShot {
 public:
  OneShot() = default;
  OneShot(const OneShot&) = delete;
  OneShot& operator=(const OneShot&) = delete;

  // Delivers `value` unless a value was delivered before; returns whether this call won.
  bool Set(T value) {
    std::unique_lock lock(mu_);
    if (done_) return false;
    done_ = true;
    if (handler_) {
      Pending pending = std::move(*handler_);
      handler_.reset();
      lock.unlock();
      Deliver(std::move(pending), std::move(value));
    } else {
      value_.emplace(std::move(value));
    }
    return true;
  }

  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }

  // Resumes the awaiting coroutine with the value once it is set.
  asio::awaitable<T> Wait() {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        [this](auto handler) {
          auto ex = asio::get_associated_executor(handler);
          Pending pending{asio::any_completion_handler<void(T)>(std::move(handler)),
                          asio::make_work_guard(ex)};
          std::unique_lock lock(mu_);
          if (value_) {
            T v = std::move(*value_);
            value_.reset();
            lock.unlock();
            Deliver(std::move(pending), std::move(v));
          } else {
            handler_.emplace(std::move(pending));
          }
        },
        asio::use_awaitable);
  }

 private:
  struct Pending {
    asio::any_completion_handler<void(T)> handler;
    asio::executor_work_guard<asio::any_io_executor> work;
  };

  static void Deliver(Pending pending, T value) {
    auto ex = pending.work.get_executor();
    asio::post(ex, [h = std::move(pending.handler), v = std::move(value)]() mutable {
      std::move(h)(std::move(v));
    });
  }

  mutable std::mutex mu_;
  bool done_ = false;
  std::optional<T> value_;
  std::optional<Pending> handler_;
};

// A uniformly distributed factor in [1 - spread, 1 + spread], from a per-thread generator.
inline double Jitter(double spread) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uniform_real_distribution<double> dist(1.0 - spread, 1.0 + spread);
  return dist(gen);
}

// `base` doubled `exponent` times, capped at `cap`, then multiplied by a jitter factor in
// [0.5, 1.5) ("equal jitter": never zero, never synchronised across callers).
inline std::chrono::milliseconds Backoff(std::chrono::milliseconds base, int exponent,
                                         std::chrono::milliseconds cap) {
  constexpr int kMaxDoublings = 20;
  constexpr double kSpread = 0.5;
  double ms = static_cast<double>(base.count());
  for (int i = 0; i < exponent && i < kMaxDoublings && ms < static_cast<double>(cap.count()); ++i) ms *= 2;
  if (ms > static_cast<double>(cap.count())) ms = static_cast<double>(cap.count());
  ms *= Jitter(kSpread);
  if (ms < 1) ms = 1;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace plinth::db::detail
