// plinth/hash_pool.h — the bounded worker pool that runs password hashing off the I/O threads.
//
// Argon2id at OWASP parameters costs tens of milliseconds of CPU and 19 MiB of memory per call. A
// burst of logins must not stall every other request, nor queue without bound: the pool has N
// worker threads and a queue of at most `queue_capacity` jobs waiting to start. When the queue is
// full (or the pool is shut down) a submission fails at once with kUnavailable — the caller is
// never blocked — and the HTTP layer answers 503 with `Retry-After: RetryAfter()`.
//
// Use from a coroutine running on any Boost.Asio executor:
//   Result<std::string> phc = co_await pool.Hash(password);
//   Result<bool> ok = co_await pool.Verify(password, stored);
//   Result<PasswordCheck> c = co_await pool.Check(password, stored);  // verify + rehash if due
// The coroutine suspends while a worker computes, then resumes on its own executor (the
// completion is posted there; the executor's context is kept alive by outstanding work until
// then). Run(fn) runs any other CPU-bound callable returning a Result<T> the same way.
//
// Contract:
// - A job that was accepted always completes: Shutdown() (and the destructor) stop accepting,
//   let the workers finish every queued job, and join them. After that every submission fails
//   with kUnavailable. Destroy the pool before the execution contexts its callers run on.
// - Jobs are not cancellable once accepted (a hash in progress runs to its end).
// - A callable that throws completes with kInternal; nothing propagates to the worker thread.
// - Passwords handed to Hash/Verify/Check/DummyVerify are wiped from the pool's copies after use.
//
// Thread-safety: all member functions may be called concurrently from any thread, except that
// Shutdown() and the destructor must not be called from a worker thread (they join the workers).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "plinth/password.h"
#include "plinth/status.h"

namespace plinth::crypto {

struct HashPoolOptions {
  unsigned threads = 0;             // 0: std::thread::hardware_concurrency(), at least 1
  std::size_t queue_capacity = 0;   // jobs waiting to start; 0: 8 per thread
  Argon2Params params;              // used by Hash, Check's rehash and DummyVerify
};

struct HashPoolStats {
  std::uint64_t accepted = 0;   // jobs taken into the queue
  std::uint64_t completed = 0;  // jobs finished (counted before their result is delivered)
  std::uint64_t rejected = 0;   // submissions refused with kUnavailable
  std::size_t queued = 0;       // waiting to start now
  std::size_t running = 0;      // on a worker now
};

// Outcome of a login check: whether the password matched and, when it matched a hash that
// NeedsRehash, the replacement PHC string to store (absent when no rehash was due or it failed).
struct PasswordCheck {
  bool match = false;
  std::optional<std::string> rehashed;
};

class HashPool {
 public:
  // kInvalidArgument for bad Argon2 parameters.
  static Result<std::unique_ptr<HashPool>> Create(HashPoolOptions options = {});
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  // HashPassword(password, params()).
  boost::asio::awaitable<Result<std::string>> Hash(std::string password);
  // VerifyPassword(password, stored).
  boost::asio::awaitable<Result<bool>> Verify(std::string password, std::string stored);
  // VerifyPassword, then on a match with NeedsRehash(stored, params()) also HashPassword: one
  // queue slot for the whole login.
  boost::asio::awaitable<Result<PasswordCheck>> Check(std::string password, std::string stored);
  // DummyVerify(password, params()); always false. For logins naming an unknown user.
  boost::asio::awaitable<Result<bool>> DummyVerify(std::string password);

  // Runs `work` (a callable returning plinth::Result<T>) on a worker; the awaiting coroutine
  // resumes on its executor with the result, or with kUnavailable if the queue is full.
  // GCC 12 caveat: a lambda (or aggregate) temporary with a non-trivial destructor written inside
  // a co_await expression is destroyed twice (a compiler bug; clang is fine). Pass a named
  // callable — `auto job = [s = std::move(s)] {…}; co_await pool.Run(std::move(job));` — not
  // `co_await pool.Run([s = std::move(s)] {…})`.
  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F&>> Run(F work);

  // Stops accepting, finishes queued jobs, joins the workers. Idempotent.
  void Shutdown();

  HashPoolStats Stats() const;
  // A Retry-After hint for a refused request: the time the workers need to clear the jobs queued
  // and running now, from the running average job duration; at least one second.
  std::chrono::seconds RetryAfter() const;

  const Argon2Params& params() const { return params_; }
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }
  std::size_t queue_capacity() const { return capacity_; }

 private:
  class Job {
   public:
    virtual ~Job() = default;
    // Computes the result on the worker (keeps it in the job).
    virtual void Execute() noexcept = 0;
    // Posts the result (or `status`, for a refused job) to the caller's executor.
    virtual void Deliver() noexcept = 0;
    virtual void Reject(Status status) noexcept = 0;
  };

  template <typename R, typename F, typename Handler>
  class TypedJob;

  HashPool(unsigned threads, std::size_t capacity, Argon2Params params);
  void WorkerLoop();
  // Takes the job and returns nullptr, or hands it back when the queue is full or stopped.
  std::unique_ptr<Job> TryEnqueue(std::unique_ptr<Job> job);
  // Fast refusal before anything is allocated: OK when a submission may be accepted now.
  Status Admission();
  Status Refusal();

  const std::size_t capacity_;
  const Argon2Params params_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::size_t running_ = 0;                 // guarded by mu_
  std::uint64_t accepted_ = 0;              // guarded by mu_
  std::uint64_t completed_ = 0;             // guarded by mu_
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::size_t> queued_hint_{0};          // queue_.size(), readable without the lock
  std::atomic<std::int64_t> avg_job_ns_{0};          // exponentially weighted job duration
  std::vector<std::thread> workers_;
  std::once_flag shutdown_once_;
};

// ---- implementation of the template ----------------------------------------------------------

template <typename R, typename F, typename Handler>
class HashPool::TypedJob final : public HashPool::Job {
 public:
  TypedJob(F work, Handler handler)
      : work_(std::move(work)),
        handler_(std::move(handler)),
        executor_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                      boost::asio::execution::outstanding_work.tracked)) {}

  void Execute() noexcept override {
    try {
      result_.emplace(work_());
    } catch (const std::exception& e) {
      result_.emplace(Status(Code::kInternal, std::string("hashing job failed: ") + e.what()));
    } catch (...) {
      result_.emplace(Status(Code::kInternal, "hashing job failed with an unknown exception"));
    }
  }

  void Deliver() noexcept override { Complete(std::move(*result_)); }

  void Reject(Status status) noexcept override { Complete(R(std::move(status))); }

 private:
  void Complete(R result) noexcept {
    auto executor = std::move(executor_);
    boost::asio::post(executor, [handler = std::move(handler_), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  }

  F work_;
  std::optional<R> result_;
  Handler handler_;
  // The caller's executor with outstanding work tracked: its context stays running until the
  // completion has been posted.
  std::decay_t<decltype(boost::asio::prefer(std::declval<boost::asio::associated_executor_t<Handler>>(),
                                            boost::asio::execution::outstanding_work.tracked))>
      executor_;
};

template <typename F>
boost::asio::awaitable<std::invoke_result_t<F&>> HashPool::Run(F work) {
  using R = std::invoke_result_t<F&>;
  static_assert(std::is_constructible_v<R, Status>, "HashPool::Run needs a callable returning plinth::Result<T>");
  if (Status admission = Admission(); !admission.ok()) co_return R(std::move(admission));
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
      [this](auto handler, F fn) {
        using Handler = decltype(handler);
        std::unique_ptr<Job> job = std::make_unique<TypedJob<R, F, Handler>>(std::move(fn), std::move(handler));
        if (std::unique_ptr<Job> refused = TryEnqueue(std::move(job))) refused->Reject(Refusal());
      },
      boost::asio::use_awaitable, std::move(work));
}

}  // namespace plinth::crypto
