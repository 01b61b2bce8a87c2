// The bounded hashing worker pool (hash_pool.h).
#include "plinth/hash_pool.h"

#include <algorithm>

#include <fmt/format.h>

#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

constexpr std::size_t kDefaultQueuePerThread = 8;
// Weight of the newest sample in the running average of job durations (1/8).
constexpr std::int64_t kAverageWeightShift = 3;

}  // namespace

Result<std::unique_ptr<HashPool>> HashPool::Create(HashPoolOptions options) {
  PLINTH_RETURN_IF_ERROR(options.params.Validate());
  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  threads = std::max(threads, 1u);
  std::size_t capacity =
      options.queue_capacity != 0 ? options.queue_capacity : kDefaultQueuePerThread * threads;
  return std::unique_ptr<HashPool>(new HashPool(threads, capacity, options.params));
}

HashPool::HashPool(unsigned threads, std::size_t capacity, Argon2Params params)
    : capacity_(capacity), params_(params) {
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

HashPool::~HashPool() { Shutdown(); }

void HashPool::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
  });
}

void HashPool::WorkerLoop() {
  while (true) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every accepted job has been taken
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_hint_.store(queue_.size(), std::memory_order_relaxed);
      ++running_;
    }
    auto start = std::chrono::steady_clock::now();
    job->Execute();
    std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
                          .count();
    std::int64_t avg = avg_job_ns_.load(std::memory_order_relaxed);
    avg_job_ns_.store(avg == 0 ? ns : avg + ((ns - avg) >> kAverageWeightShift), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      ++completed_;
    }
    // Counted before the caller can observe the result.
    job->Deliver();
    job.reset();
  }
}

Status HashPool::Refusal() {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return Status(Code::kUnavailable,
                fmt::format("password hashing is saturated ({} jobs queued); retry in {} s", capacity_,
                            RetryAfter().count()));
}

Status HashPool::Admission() {
  // A hint only: TryEnqueue decides under the lock. This spares an allocation when full.
  if (queued_hint_.load(std::memory_order_relaxed) >= capacity_) return Refusal();
  return Status::Ok();
}

std::unique_ptr<HashPool::Job> HashPool::TryEnqueue(std::unique_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) return job;
    queue_.push_back(std::move(job));
    queued_hint_.store(queue_.size(), std::memory_order_relaxed);
    ++accepted_;
  }
  cv_.notify_one();
  return nullptr;
}

HashPoolStats HashPool::Stats() const {
  HashPoolStats s;
  std::lock_guard<std::mutex> lock(mu_);
  s.accepted = accepted_;
  s.completed = completed_;
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.queued = queue_.size();
  s.running = running_;
  return s;
}

std::chrono::seconds HashPool::RetryAfter() const {
  std::size_t pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = queue_.size() + running_;
  }
  double avg_s = double(avg_job_ns_.load(std::memory_order_relaxed)) / 1e9;
  double seconds = avg_s * double(pending) / double(std::max<std::size_t>(workers_.size(), 1));
  return std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds + 0.999)));
}

// These four are plain functions returning Run's awaitable, each with a *named* callable: GCC 12
// destroys a lambda temporary that owns resources twice when it appears inside a co_await
// expression (see Run in hash_pool.h).

boost::asio::awaitable<Result<std::string>> HashPool::Hash(std::string password) {
  auto job = [this, password = std::move(password)]() mutable -> Result<std::string> {
    auto r = HashPassword(password, params_);
    SecureWipe(password);
    return r;
  };
  return Run(std::move(job));
}

boost::asio::awaitable<Result<bool>> HashPool::Verify(std::string password, std::string stored) {
  auto job = [password = std::move(password), stored = std::move(stored)]() mutable -> Result<bool> {
    auto r = VerifyPassword(password, stored);
    SecureWipe(password);
    return r;
  };
  return Run(std::move(job));
}

boost::asio::awaitable<Result<PasswordCheck>> HashPool::Check(std::string password, std::string stored) {
  auto job = [this, password = std::move(password), stored = std::move(stored)]() mutable -> Result<PasswordCheck> {
    PasswordCheck check;
    auto verified = VerifyPassword(password, stored);
    if (!verified.ok()) {
      SecureWipe(password);
      return verified.status();
    }
    check.match = *verified;
    if (check.match && NeedsRehash(stored, params_)) {
      // A failed rehash leaves the old hash in place; the login itself still succeeds.
      auto rehashed = HashPassword(password, params_);
      if (rehashed.ok()) check.rehashed = std::move(rehashed).value();
    }
    SecureWipe(password);
    return check;
  };
  return Run(std::move(job));
}

boost::asio::awaitable<Result<bool>> HashPool::DummyVerify(std::string password) {
  auto job = [this, password = std::move(password)]() mutable -> Result<bool> {
    crypto::DummyVerify(password, params_);
    SecureWipe(password);
    return false;
  };
  return Run(std::move(job));
}

}  // namespace plinth::crypto
