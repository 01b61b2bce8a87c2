// Graceful shutdown through real HTTP: in-flight requests finish, idle connections close, new
// connections are refused, Stop keeps its deadline, signals start the same drain.
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <latch>
#include <thread>

#include "http/http_fixture.h"

namespace plinth::http {
namespace {

using namespace std::chrono_literals;
using testing::TestClient;
using testing::TestServer;

// GET /work: counts down `entered`, waits `d`, answers "done". GET /hello: "hello".
Router WorkRouter(std::latch& entered, Clock::duration d) {
  Router r;
  EXPECT_TRUE(r.Get("/hello", testing::Text("hello")).ok());
  EXPECT_TRUE(r.Get("/work", [&entered, d](Request&) -> asio::awaitable<Response> {
                 entered.count_down();
                 asio::steady_timer t(co_await asio::this_coro::executor);
                 t.expires_after(d);
                 co_await t.async_wait(asio::use_awaitable);
                 co_return TextResponse(200, "done");
               }).ok());
  return r;
}

TEST(ShutdownTest, InFlightRequestsFinishAndNewConnectionsAreRefused) {
  constexpr int kInFlight = 4;
  std::latch entered(kInFlight);
  TestServer s(WorkRouter(entered, 400ms));
  uint16_t port = s.port();

  TestClient idle(port);
  ASSERT_TRUE(idle.Request("GET", "/hello"));  // a keep-alive connection with nothing to do

  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kInFlight; ++i) {
    clients.push_back(std::make_unique<TestClient>(port));
    ASSERT_TRUE(clients.back()->Send("GET /work HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  entered.wait();  // every handler is running

  auto stop_started = Clock::now();
  auto stopped = std::async(std::launch::async, [&] { s.server().Stop(Clock::now() + 5s); });

  // The idle connection is closed at once, without a response.
  std::string got;
  EXPECT_TRUE(idle.WaitClosed(2s, &got));
  EXPECT_TRUE(got.empty()) << got;

  // Every in-flight request completes with its status, and its connection then closes.
  for (auto& c : clients) {
    auto r = c->Read();
    ASSERT_TRUE(r) << c->last_error().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "done");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c->WaitClosed(2s));
  }
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready);
  auto took = Clock::now() - stop_started;
  EXPECT_LT(took, 5s);     // it did not wait for the deadline once all were done
  EXPECT_GE(took, 200ms);  // but it did wait for the handlers

  TestClient late(port);
  EXPECT_FALSE(late.connected()) << "a connection was accepted after Stop";
  EXPECT_EQ(s.server().stats().connections_open, 0u);
}

TEST(ShutdownTest, StopKeepsItsDeadlineWhenHandlersDoNotFinish) {
  std::latch entered(1);
  TestServer s(WorkRouter(entered, 30s));
  TestClient c(s.port());
  ASSERT_TRUE(c.Send("GET /work HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.wait();
  auto start = Clock::now();
  s.server().Stop(Clock::now() + 300ms);
  auto took = Clock::now() - start;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  // The connection was closed (no response: the handler was cut off).
  EXPECT_TRUE(c.WaitClosed(2s));
}

TEST(ShutdownTest, StopIsIdempotent) {
  std::latch entered(1);
  TestServer s(WorkRouter(entered, 1ms));
  s.server().Stop(Clock::now() + 1s);
  auto start = Clock::now();
  s.server().Stop(Clock::now() + 1s);
  EXPECT_LT(Clock::now() - start, 500ms);
}

TEST(ShutdownTest, SignalStartsTheDrainAndThenTheAfterHook) {
  std::latch entered(1);
  TestServer s(WorkRouter(entered, 300ms));
  std::promise<void> after_ran;
  auto after_future = after_ran.get_future();
  s.server().StopOnSignals(5s, [&after_ran]() -> asio::awaitable<void> {
    after_ran.set_value();
    co_return;
  });
  TestClient c(s.port());
  ASSERT_TRUE(c.Send("GET /work HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.wait();
  std::raise(SIGTERM);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(after_future.wait_for(5s), std::future_status::ready);
  TestClient late(s.port());
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace plinth::http
