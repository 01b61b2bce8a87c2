// tests/db/async_runner.h — an io_context run by worker threads, and a blocking Await for
// tests that drive coroutines (plinth::db::Database) from the test thread.
//
// Declare the IoRunner before the objects that use its io_context, so that it is destroyed
// after them.
//
// Thread-safety: Await may be called from the test thread while the workers run.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <type_traits>
#include <thread>
#include <vector>

namespace plinth::testing {

class IoRunner {
 public:
  explicit IoRunner(int threads = 2) : work_(boost::asio::make_work_guard(io_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoRunner() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  IoRunner(const IoRunner&) = delete;
  IoRunner& operator=(const IoRunner&) = delete;

  boost::asio::io_context& io() { return io_; }

  // Runs `task` on the io_context and waits for its result. A task that does not finish
  // within `limit` is a hang: the test binary stops with a message rather than hanging CI.
  template <typename T>
  T Await(boost::asio::awaitable<T> task, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    if constexpr (std::is_void_v<T>) {
      auto future = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
      Wait(future, limit);
      future.get();
    } else {
      // co_spawn needs a default-constructible result (Result<T> is not): carry it in an optional.
      auto wrapped = [](boost::asio::awaitable<T> t) -> boost::asio::awaitable<std::optional<T>> {
        co_return std::optional<T>(co_await std::move(t));
      };
      auto future = boost::asio::co_spawn(io_, wrapped(std::move(task)), boost::asio::use_future);
      Wait(future, limit);
      return std::move(*future.get());
    }
  }

 private:
  template <typename F>
  static void Wait(F& future, std::chrono::milliseconds limit) {
    if (future.wait_for(limit) != std::future_status::ready) {
      std::cerr << "FATAL: an awaited database call did not finish within " << limit.count()
                << " ms (a hang is a bug: every call has a deadline)" << std::endl;
      std::abort();
    }
  }

 public:

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace plinth::testing
