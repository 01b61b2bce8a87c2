// The hashing worker pool: results arrive on the caller's executor, a full queue refuses at once
// with kUnavailable while queued work still completes, shutdown drains, errors are values.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "plinth/crypto.h"
#include "plinth/hash_pool.h"
#include "plinth/password.h"

namespace plinth::crypto {
namespace {

namespace asio = boost::asio;

constexpr Argon2Params kFastParams{.memory_kib = 64, .iterations = 1, .parallelism = 1};

std::unique_ptr<HashPool> MakePool(unsigned threads, std::size_t capacity) {
  auto pool = HashPool::Create({.threads = threads, .queue_capacity = capacity, .params = kFastParams});
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(pool).value();
}

TEST(HashPool, DefaultsUseHardwareThreads) {
  auto pool = HashPool::Create({.params = kFastParams});
  ASSERT_TRUE(pool.ok());
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ((*pool)->threads(), hw);
  EXPECT_EQ((*pool)->queue_capacity(), 8u * hw);
}

TEST(HashPool, RejectsBadParameters) {
  auto pool = HashPool::Create({.params = Argon2Params{.memory_kib = 1}});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), Code::kInvalidArgument);
}

TEST(HashPool, HashVerifyCheckAndDummyResumeOnCallerThread) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(2, 16);
  const auto io_thread = std::this_thread::get_id();
  std::optional<std::string> phc;
  std::optional<bool> good, bad, dummy;
  std::optional<PasswordCheck> legacy;
  std::vector<std::thread::id> resumed_on;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto h = co_await pool->Hash("correct horse");
        resumed_on.push_back(std::this_thread::get_id());
        if (!h.ok()) co_return;
        phc = *h;
        auto v = co_await pool->Verify("correct horse", *phc);
        resumed_on.push_back(std::this_thread::get_id());
        if (v.ok()) good = *v;
        auto w = co_await pool->Verify("wrong horse", *phc);
        if (w.ok()) bad = *w;
        auto d = co_await pool->DummyVerify("anything");
        resumed_on.push_back(std::this_thread::get_id());
        if (d.ok()) dummy = *d;
        // A legacy PBKDF2 user logging in: match plus the Argon2id replacement, one job.
        auto dk = Pbkdf2HmacSha256("legacy", "0123456789abcdef", 5, 32);
        auto c = co_await pool->Check("legacy", "pbkdf2_sha256$5$0123456789abcdef$" + Base64Encode(*dk));
        if (c.ok()) legacy = *c;
      },
      asio::detached);
  io.run();  // returns only when the coroutine finished: pending jobs keep the context busy
  ASSERT_TRUE(phc.has_value());
  EXPECT_TRUE(phc->starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  EXPECT_EQ(good, true);
  EXPECT_EQ(bad, false);
  EXPECT_EQ(dummy, false);
  ASSERT_TRUE(legacy.has_value());
  EXPECT_TRUE(legacy->match);
  ASSERT_TRUE(legacy->rehashed.has_value());
  EXPECT_TRUE(*VerifyPassword("legacy", *legacy->rehashed));
  EXPECT_FALSE(NeedsRehash(*legacy->rehashed, kFastParams));
  for (auto id : resumed_on) EXPECT_EQ(id, io_thread);
  EXPECT_EQ(resumed_on.size(), 3u);
}

TEST(HashPool, CheckDoesNotRehashCurrentOrMismatching) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 4);
  std::optional<PasswordCheck> current, wrong;
  auto phc = HashPassword("pw", kFastParams);
  ASSERT_TRUE(phc.ok());
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto a = co_await pool->Check("pw", *phc);
        if (a.ok()) current = *a;
        auto b = co_await pool->Check("nope", "pbkdf2_sha256$1$salt$" + Base64Encode(*Pbkdf2HmacSha256("pw", "salt", 1, 32)));
        if (b.ok()) wrong = *b;
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(current && wrong);
  EXPECT_TRUE(current->match);
  EXPECT_FALSE(current->rehashed.has_value());
  EXPECT_FALSE(wrong->match);
  EXPECT_FALSE(wrong->rehashed.has_value());
}

TEST(HashPool, WorkRunsOnAWorkerThread) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 4);
  std::thread::id worker;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await pool->Run([&]() -> Result<int> {
          worker = std::this_thread::get_id();
          return 7;
        });
        EXPECT_EQ(*r, 7);
      },
      asio::detached);
  io.run();
  EXPECT_NE(worker, std::thread::id());
  EXPECT_NE(worker, std::this_thread::get_id());
}

// One worker, two queue slots. Job A blocks the worker until released; B and C wait in the
// queue; D and E are refused immediately with kUnavailable — their coroutines finish without the
// workers having done anything. Releasing A completes A, B and C.
TEST(HashPool, SaturationRefusesAtOnceAndQueuedWorkCompletes) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 2);
  std::promise<void> a_started;
  std::promise<void> release_a;
  std::shared_future<void> release = release_a.get_future().share();
  // Unblocks the worker however the test ends, so a failed assertion cannot hang the join.
  struct Releaser {
    std::promise<void>& promise;
    bool released = false;
    void Release() {
      if (!released) promise.set_value();
      released = true;
    }
    ~Releaser() { Release(); }
  } releaser{release_a};
  std::vector<std::optional<Result<int>>> results(5);
  auto submit = [&](int index, bool blocking) {
    asio::co_spawn(
        io,
        [&, index, blocking]() -> asio::awaitable<void> {
          auto r = co_await pool->Run([&, index, blocking]() -> Result<int> {
            if (blocking) {
              a_started.set_value();
              release.wait();
            }
            return index;
          });
          results[index].emplace(std::move(r));
        },
        asio::detached);
  };

  submit(0, /*blocking=*/true);
  io.poll();  // runs A's coroutine up to its submission
  a_started.get_future().wait();  // the worker holds A
  submit(1, false);
  submit(2, false);
  io.poll();  // B and C are queued (the worker is still blocked in A)
  EXPECT_EQ(pool->Stats().queued, 2u);
  submit(3, false);
  submit(4, false);
  io.poll();  // D and E run to completion right here: refused, nothing blocked
  ASSERT_TRUE(results[3].has_value());
  ASSERT_TRUE(results[4].has_value());
  EXPECT_EQ(results[3]->status().code(), Code::kUnavailable);
  EXPECT_EQ(results[4]->status().code(), Code::kUnavailable);
  EXPECT_NE(results[3]->status().message().find("retry"), std::string::npos);
  EXPECT_FALSE(results[0].has_value());
  EXPECT_FALSE(results[1].has_value());
  EXPECT_FALSE(results[2].has_value());
  HashPoolStats during = pool->Stats();
  EXPECT_EQ(during.running, 1u);
  EXPECT_EQ(during.queued, 2u);
  EXPECT_EQ(during.rejected, 2u);
  EXPECT_GE(pool->RetryAfter().count(), 1);

  releaser.Release();
  io.run();  // A, B, C complete and resume here
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    ASSERT_TRUE(results[i]->ok()) << results[i]->status().ToString();
    EXPECT_EQ(**results[i], i);
  }
  HashPoolStats after = pool->Stats();
  EXPECT_EQ(after.accepted, 3u);
  EXPECT_EQ(after.completed, 3u);
  EXPECT_EQ(after.rejected, 2u);
  EXPECT_EQ(after.queued, 0u);
  EXPECT_EQ(after.running, 0u);
}

TEST(HashPool, ManyConcurrentCallersAllComplete) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(2, 64);
  std::atomic<int> ok{0};
  auto phc = HashPassword("pw", kFastParams);
  ASSERT_TRUE(phc.ok());
  for (int i = 0; i < 40; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto r = co_await pool->Verify(i % 2 ? "pw" : "no", *phc);
          if (r.ok() && *r == (i % 2 == 1)) ++ok;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(pool->Stats().completed, 40u);
}

TEST(HashPool, ThrowingJobCompletesWithInternal) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 4);
  std::optional<Status> status;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await pool->Run([]() -> Result<int> { throw std::runtime_error("boom"); });
        status = r.status();
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), Code::kInternal);
  EXPECT_NE(status->message().find("boom"), std::string::npos);
}

TEST(HashPool, ErrorsFromHashingAreValues) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 4);
  std::optional<Status> verify_status;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await pool->Verify("pw", "not a hash");
        verify_status = r.status();
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(verify_status.has_value());
  EXPECT_EQ(verify_status->code(), Code::kInvalidArgument);
}

TEST(HashPool, ShutdownDrainsThenRefuses) {
  asio::io_context io;  // declared first: the pool drains into it when destroyed
  auto pool = MakePool(1, 8);
  std::atomic<int> done{0};
  std::optional<Status> late;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto r = co_await pool->Hash("pw");
          if (r.ok()) ++done;
        },
        asio::detached);
  }
  io.poll();          // all five submitted
  pool->Shutdown();   // finishes them, joins the worker
  EXPECT_EQ(pool->Stats().completed, 5u);
  io.run();           // their completions resume the coroutines
  EXPECT_EQ(done.load(), 5);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await pool->Hash("pw");
        late = r.status();
      },
      asio::detached);
  io.restart();
  io.run();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->code(), Code::kUnavailable);
  pool->Shutdown();  // idempotent
}

}  // namespace
}  // namespace plinth::crypto
