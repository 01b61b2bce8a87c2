// The server through real HTTP on loopback: routing, keep-alive, limits, deadlines, request ids,
// the access log, CORS and metrics.
#include <gtest/gtest.h>

#include <thread>

#include "http/http_fixture.h"
#include "http/prom_parser.h"

namespace plinth::http {
namespace {

using namespace std::chrono_literals;
using testing::ReadLines;
using testing::TempPath;
using testing::TestClient;
using testing::TestResponse;
using testing::TestServer;

Router MakeRouter(metrics::MetricsRegistry* registry = nullptr) {
  Router r;
  EXPECT_TRUE(r.Get("/hello", testing::Text("hello")).ok());
  EXPECT_TRUE(r.Get("/api/v1/{table}/{id}", [](Request& req) -> asio::awaitable<Response> {
                 nlohmann::json q = nlohmann::json::array();
                 for (const auto& p : req.query().params()) q.push_back({p.key, p.value});
                 co_return JsonResponse(200, {{"table", req.param("table")},
                                              {"id", req.param("id")},
                                              {"route", req.route()},
                                              {"request_id", req.request_id()},
                                              {"raw_query", req.query().raw()},
                                              {"query", q}});
               }).ok());
  EXPECT_TRUE(r.Post("/echo", [](Request& req) -> asio::awaitable<Response> {
                 Response resp = TextResponse(200, std::string(req.body()), "application/octet-stream");
                 resp.SetHeader("X-Body-Length", std::to_string(req.body().size()));
                 co_return resp;
               }).ok());
  EXPECT_TRUE(r.Get("/slow", testing::Sleep(10s)).ok());
  EXPECT_TRUE(r.Get("/deadline", [](Request& req) -> asio::awaitable<Response> {
                 auto left = std::chrono::duration_cast<std::chrono::milliseconds>(req.deadline() -
                                                                                  Clock::now());
                 co_return TextResponse(200, std::to_string(left.count()));
               }).ok());
  EXPECT_TRUE(r.Get("/throw", [](Request&) -> asio::awaitable<Response> {
                 throw std::runtime_error("secret internal detail");
                 co_return TextResponse(200, "unreachable");
               }).ok());
  EXPECT_TRUE(r.Get("/principal", [](Request& req) -> asio::awaitable<Response> {
                 req.set_principal("user:42");
                 co_return TextResponse(200, "hi");
               }).ok());
  EXPECT_TRUE(r.Get("/bad-header", [](Request&) -> asio::awaitable<Response> {
                 Response resp = TextResponse(200, "x");
                 resp.SetHeader("X-Injected", "a\r\nSet-Cookie: evil=1");
                 co_return resp;
               }).ok());
  if (registry != nullptr) {
    EXPECT_TRUE(r.Get("/metrics", MetricsHandler(*registry)).ok());
  }
  return r;
}

Router WithMetrics(metrics::MetricsRegistry& registry) { return MakeRouter(&registry); }

std::string SlurpStatusLine(const std::string& bytes) { return bytes.substr(0, bytes.find("\r\n")); }

TEST(ServerTest, RoutesParamsQueryAndProblems) {
  TestServer s(MakeRouter());
  ASSERT_TRUE(s.ok());
  TestClient c(s.port());
  ASSERT_TRUE(c.connected());

  auto ok = c.Request("GET", "/api/v1/documents/a%20b?limit=5&tag=x&tag=y&or=(a.eq.1,b.eq.2)");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->Header("content-type"), "application/json");
  auto j = ok->Json();
  EXPECT_EQ(j["table"], "documents");
  EXPECT_EQ(j["id"], "a b");
  EXPECT_EQ(j["route"], "/api/v1/{table}/{id}");
  EXPECT_EQ(j["raw_query"], "limit=5&tag=x&tag=y&or=(a.eq.1,b.eq.2)");
  EXPECT_EQ(j["query"], nlohmann::json::parse(
                            R"J([["limit","5"],["tag","x"],["tag","y"],["or","(a.eq.1,b.eq.2)"]])J"));
  EXPECT_EQ(j["request_id"], ok->Header("x-request-id"));

  auto nf = c.Request("GET", "/nope");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->Header("content-type"), "application/problem+json");
  auto pj = nf->Json();
  EXPECT_EQ(pj["status"], 404);
  EXPECT_EQ(pj["title"], "Not Found");
  EXPECT_EQ(pj["instance"], nf->Header("x-request-id"));
  EXPECT_TRUE(nf->keep_alive);

  auto na = c.Request("DELETE", "/hello");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->Header("allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(na->Header("content-type"), "application/problem+json");
  EXPECT_EQ(na->Json()["status"], 405);

  auto opt = c.Request("OPTIONS", "/hello");
  ASSERT_TRUE(opt);
  EXPECT_EQ(opt->status, 204);
  EXPECT_EQ(opt->Header("allow"), "GET, HEAD, OPTIONS");

  auto bad_param = c.Request("GET", "/api/v1/t/%zz");
  ASSERT_TRUE(bad_param);
  EXPECT_EQ(bad_param->status, 400);
  EXPECT_EQ(bad_param->Json()["status"], 400);

  auto bad_query = c.Request("GET", "/api/v1/t/1?title=%E0%80");
  ASSERT_TRUE(bad_query);
  EXPECT_EQ(bad_query->status, 400);
  auto bq = bad_query->Json();
  ASSERT_TRUE(bq.contains("errors"));
  EXPECT_EQ(bq["errors"][0]["field"], "title");

  // Still the same connection after all of these.
  auto again = c.Request("GET", "/hello");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "hello");
  EXPECT_EQ(s.server().stats().connections_accepted, 1u);
}

TEST(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer s(MakeRouter());
  TestClient c(s.port());
  constexpr int kRequests = 500;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.Request("GET", "/api/v1/t/" + std::to_string(i));
    ASSERT_TRUE(r) << i << " " << c.last_error().message();
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(r->Json()["id"], std::to_string(i));
    ASSERT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(s.server().stats().connections_accepted, 1u);
  EXPECT_EQ(s.server().stats().requests, uint64_t{kRequests});
}

TEST(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s(MakeRouter());
  TestClient c(s.port());
  std::string batch;
  for (int i = 0; i < 3; ++i) batch += "GET /api/v1/t/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_TRUE(c.Send(batch));
  for (int i = 0; i < 3; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Json()["id"], std::to_string(i));
  }
  auto e = c.Read();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "abc");
}

TEST(ServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  TestServer s(MakeRouter());
  {
    TestClient c(s.port());
    ASSERT_TRUE(c.Send("GET /hello HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(r->keep_alive);
    EXPECT_TRUE(c.WaitClosed(2s));
  }
  {
    TestClient c(s.port());
    ASSERT_TRUE(c.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Header("connection"), "keep-alive");
    ASSERT_TRUE(c.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r2 = c.Read();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "hello");
  }
  {
    TestClient c(s.port());
    ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed(2s));
  }
}

TEST(ServerTest, BodyLimitGives413ForContentLengthAndChunked) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  TestServer s(MakeRouter(), o);

  {
    TestClient c(s.port());
    auto r = c.Request("POST", "/echo", {}, std::string(1024, 'a'));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("x-body-length"), "1024");
  }
  {
    TestClient c(s.port());
    // Only the header is sent: the 413 must not wait for a body it will not read.
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_EQ(r->Json()["status"], 413);
    EXPECT_TRUE(c.WaitClosed(3s));
  }
  {
    TestClient c(s.port());
    ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello world");
  }
  {
    TestClient c(s.port());
    std::string chunk(600, 'b');
    std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    req += "258\r\n" + chunk + "\r\n";  // 600 bytes
    req += "258\r\n" + chunk + "\r\n";  // 1200 in all: over the limit
    ASSERT_TRUE(c.Send(req));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.WaitClosed(3s));
  }
}

TEST(ServerTest, ExpectContinue) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  TestServer s(MakeRouter(), o);
  TestClient c(s.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("data"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "data");

  TestClient big(s.port());
  ASSERT_TRUE(big.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  auto refused = big.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);  // no 100 Continue first
}

TEST(ServerTest, HeaderLimitGives431) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  TestServer s(MakeRouter(), o);
  TestClient c(s.port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'v') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->Header("content-type"), "application/problem+json");
  EXPECT_EQ(r->Json()["status"], 431);
  EXPECT_TRUE(c.WaitClosed(3s));

  // Just under the limit is fine.
  TestClient ok(s.port());
  auto fine = ok.Request("GET", "/hello", {{"X-Big", std::string(900, 'v')}});
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST(ServerTest, MalformedRequestsGive400And505) {
  TestServer s(MakeRouter());
  struct Case {
    std::string bytes;
    int status;
  };
  for (const Case& k : std::vector<Case>{
           {"GARBAGE\r\n\r\n", 400},
           {"GET /hello HTTP/1.1\r\n\r\n", 400},                        // no Host
           {"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  // two Hosts
           {"GET hello HTTP/1.1\r\nHost: a\r\n\r\n", 400},              // not origin-form
           {"GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", 505},
           {"GET /hello HTTP/1.2\r\nHost: a\r\n\r\n", 505},
           {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
       }) {
    TestClient c(s.port());
    ASSERT_TRUE(c.Send(k.bytes));
    auto r = c.Read();
    ASSERT_TRUE(r) << k.bytes;
    EXPECT_EQ(r->status, k.status) << k.bytes;
    EXPECT_EQ(r->Header("content-type"), "application/problem+json") << k.bytes;
    EXPECT_TRUE(c.WaitClosed(3s)) << k.bytes;
  }
}

TEST(ServerTest, SlowHeaderIsCutOffWhileOthersAreServed) {
  ServerOptions o;
  o.header_timeout = 400ms;
  TestServer s(MakeRouter(), o);
  TestClient slow(s.port());
  TestClient other(s.port());
  auto start = Clock::now();
  ASSERT_TRUE(slow.Send("GET /hello HTTP/1.1\r\nHost: x\r\n"));
  std::string got;
  bool closed = false;
  int served = 0;
  // Dribble one header line every 100 ms (the header never completes) for at most 5 s.
  while (Clock::now() - start < 5s) {
    if (!slow.Send("X-Drip: 1\r\n")) {
      closed = true;
      break;
    }
    std::string chunk;
    if (slow.WaitClosed(100ms, &chunk)) {
      got += chunk;
      closed = true;
      break;
    }
    got += chunk;
    auto r = other.Request("GET", "/hello");
    ASSERT_TRUE(r) << other.last_error().message();
    EXPECT_EQ(r->status, 200);
    ++served;
  }
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(closed);
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 2500ms);  // the deadline (0.4 s) plus sweep ticks and scheduling
  EXPECT_GE(served, 2);
  EXPECT_EQ(SlurpStatusLine(got), "HTTP/1.1 408 Request Timeout") << got;
}

TEST(ServerTest, IdleKeepAliveConnectionIsClosedSilently) {
  ServerOptions o;
  o.idle_timeout = 300ms;
  TestServer s(WithMetrics, o);
  TestClient c(s.port());
  ASSERT_TRUE(c.Request("GET", "/hello"));
  auto start = Clock::now();
  std::string got;
  EXPECT_TRUE(c.WaitClosed(5s, &got));
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_TRUE(got.empty()) << got;  // no 408 to a connection that sent nothing
}

TEST(ServerTest, SlowBodyGets408) {
  ServerOptions o;
  o.body_timeout = 300ms;
  TestServer s(MakeRouter(), o);
  TestClient c(s.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST(ServerTest, ConnectionCapAnswers503WithRetryAfter) {
  ServerOptions o;
  o.max_connections = 2;
  o.overload_retry_after = std::chrono::seconds(3);
  TestServer s(MakeRouter(), o);
  auto c1 = std::make_unique<TestClient>(s.port());
  TestClient c2(s.port());
  ASSERT_TRUE(c1->Request("GET", "/hello"));
  ASSERT_TRUE(c2.Request("GET", "/hello"));

  TestClient c3(s.port());
  ASSERT_TRUE(c3.connected());
  ASSERT_TRUE(c3.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c3.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->Header("retry-after"), "3");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(r->Json()["status"], 503);
  EXPECT_TRUE(c3.WaitClosed(3s));
  EXPECT_EQ(s.server().stats().connections_rejected, 1u);

  // The served connections are unaffected, and a slot frees when one closes.
  ASSERT_TRUE(c2.Request("GET", "/hello"));
  c1.reset();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    TestClient c4(s.port());
    auto r4 = c4.Request("GET", "/hello");
    served = r4 && r4->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);  // the close is noticed asynchronously
  }
  EXPECT_TRUE(served);
}

TEST(ServerTest, PerIpRateLimitGives429WithRetryAfter) {
  ServerOptions o;
  o.ip_rate_limit = ratelimit::Options{.rate_per_second = 0.5, .burst = 2, .max_keys = 100};
  TestServer s(WithMetrics, o);
  TestClient c(s.port());
  EXPECT_EQ(c.Request("GET", "/hello")->status, 200);
  EXPECT_EQ(c.Request("GET", "/hello")->status, 200);
  auto r = c.Request("GET", "/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->Header("retry-after"), "2");
  EXPECT_EQ(r->Json()["status"], 429);
  EXPECT_TRUE(r->keep_alive);
}

TEST(ServerTest, RequestDeadlineGives504AndTheConnectionGoesOn) {
  ServerOptions o;
  o.request_timeout = 300ms;
  TestServer s(MakeRouter(), o);
  TestClient c(s.port());
  auto d = c.Request("GET", "/deadline");
  ASSERT_TRUE(d);
  int left = std::stoi(d->body);
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 300);

  auto start = Clock::now();
  auto r = c.Request("GET", "/slow");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(r->Json()["status"], 504);
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 3s);
  // The cancellation was reset: the next request on the connection works.
  auto after = c.Request("GET", "/hello");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST(ServerTest, HandlerFailuresAre500WithoutInternals) {
  TestServer s(MakeRouter());
  TestClient c(s.port());
  auto r = c.Request("GET", "/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  auto h = c.Request("GET", "/bad-header");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 500);
  EXPECT_FALSE(h->Has("set-cookie"));
  EXPECT_FALSE(h->Has("x-injected"));
}

TEST(ServerTest, RequestIdIsKeptGeneratedOrReplaced) {
  TestServer s(MakeRouter());
  TestClient c(s.port());
  auto kept = c.Request("GET", "/nope", {{"X-Request-Id", "client-id.42"}});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->Header("x-request-id"), "client-id.42");
  EXPECT_EQ(kept->Json()["instance"], "client-id.42");

  auto gen = c.Request("GET", "/hello");
  ASSERT_TRUE(gen);
  std::string id = gen->Header("x-request-id");
  EXPECT_EQ(id.size(), 36u);

  auto gen2 = c.Request("GET", "/hello");
  EXPECT_NE(gen2->Header("x-request-id"), id);

  for (std::string bad : {std::string("has space"), std::string(129, 'x'), std::string("a\"b")}) {
    auto r = c.Request("GET", "/hello", {{"X-Request-Id", bad}});
    ASSERT_TRUE(r);
    EXPECT_NE(r->Header("x-request-id"), bad);
    EXPECT_EQ(r->Header("x-request-id").size(), 36u);
  }
}

TEST(ServerTest, AccessLogLinesAreJsonWithTheFields) {
  ServerOptions o;
  o.access_log.path = TempPath("plinth-access");
  std::string path = o.access_log.path;
  {
    TestServer s(MakeRouter(), o);
    TestClient c(s.port());
    auto a = c.Request("GET", "/principal?secret=1", {{"User-Agent", "plinth-test/1"}, {"X-Request-Id", "log-1"}});
    ASSERT_TRUE(a);
    auto b = c.Request("GET", "/nope/\"quoted\"", {{"X-Request-Id", "log-2"}});
    ASSERT_TRUE(b);
    auto e = c.Request("POST", "/echo", {{"X-Request-Id", "log-3"}}, "12345");
    ASSERT_TRUE(e);
    s.server().FlushAccessLog();
    auto lines = ReadLines(path);
    ASSERT_EQ(lines.size(), 3u);
    std::map<std::string, nlohmann::json> by_id;
    for (const auto& line : lines) {
      auto j = nlohmann::json::parse(line);  // throws (fails the test) when not JSON
      by_id[j["request_id"]] = j;
    }
    auto& l1 = by_id["log-1"];
    EXPECT_EQ(l1["method"], "GET");
    EXPECT_EQ(l1["path"], "/principal");  // no query string
    EXPECT_EQ(l1["route"], "/principal");
    EXPECT_EQ(l1["status"], 200);
    EXPECT_TRUE(l1["duration_ms"].is_number());
    EXPECT_GE(l1["duration_ms"].get<double>(), 0);
    EXPECT_GT(l1["bytes_in"].get<int>(), 0);
    EXPECT_GT(l1["bytes_out"].get<int>(), 0);
    EXPECT_EQ(l1["remote_ip"], "127.0.0.1");
    EXPECT_EQ(l1["user_agent"], "plinth-test/1");
    EXPECT_EQ(l1["principal"], "user:42");
    EXPECT_TRUE(l1["time"].is_string());
    auto& l2 = by_id["log-2"];
    EXPECT_EQ(l2["status"], 404);
    EXPECT_EQ(l2["route"], "(not_found)");
    EXPECT_EQ(l2["path"], "/nope/\"quoted\"");
    EXPECT_TRUE(l2["principal"].is_null());
    EXPECT_EQ(by_id["log-3"]["route"], "/echo");
  }
  std::filesystem::remove(path);
}

TEST(ServerTest, CorsPreflightAndActualRequests) {
  ServerOptions o;
  auto cors = CorsOptions::FromAllowedOrigins("https://app.example");
  ASSERT_TRUE(cors.ok());
  o.cors = *cors;
  TestServer s(MakeRouter(), o);
  TestClient c(s.port());

  auto pre = c.Request("OPTIONS", "/api/v1/documents/1",
                       {{"Origin", "https://app.example"},
                        {"Access-Control-Request-Method", "GET"},
                        {"Access-Control-Request-Headers", "authorization"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->Header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(pre->Header("access-control-allow-methods").find("GET"), std::string::npos);
  EXPECT_NE(pre->Header("access-control-allow-headers").find("Authorization"), std::string::npos);
  EXPECT_NE(pre->Header("vary").find("Origin"), std::string::npos);
  EXPECT_EQ(pre->Header("access-control-max-age"), "600");

  auto denied = c.Request("OPTIONS", "/hello",
                          {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_FALSE(denied->Has("access-control-allow-origin"));

  auto actual = c.Request("GET", "/hello", {{"Origin", "https://app.example"}});
  ASSERT_TRUE(actual);
  EXPECT_EQ(actual->Header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(actual->Header("access-control-expose-headers").find("X-Request-Id"), std::string::npos);
  EXPECT_NE(actual->Header("vary").find("Origin"), std::string::npos);

  auto other = c.Request("GET", "/hello", {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_FALSE(other->Has("access-control-allow-origin"));
  EXPECT_NE(other->Header("vary").find("Origin"), std::string::npos);

  auto unknown = c.Request("OPTIONS", "/missing",
                           {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST(ServerTest, HeadHasNoBody) {
  TestServer s(MakeRouter());
  TestClient c(s.port());
  auto h = c.Request("HEAD", "/hello");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->Header("content-length"), "5");
  EXPECT_TRUE(h->body.empty());
  // No stray body bytes: the next response parses.
  auto g = c.Request("GET", "/hello");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, "hello");
}

TEST(ServerTest, MetricsCountRequestsByRouteAndStatus) {
  TestServer s(WithMetrics, {});
  TestClient c(s.port());
  for (int i = 0; i < 7; ++i) ASSERT_EQ(c.Request("GET", "/hello")->status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.Request("GET", "/nope/" + std::to_string(i))->status, 404);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(c.Request("GET", "/api/v1/t/" + std::to_string(i))->status, 200);
  ASSERT_EQ(c.Request("PUT", "/hello")->status, 405);

  auto m = c.Request("GET", "/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  std::string error;
  auto p = testing::ParseProm(m->body, error);
  ASSERT_TRUE(p) << error << "\n" << m->body;
  using L = std::map<std::string, std::string>;
  EXPECT_EQ(p->Value("plinth_http_requests_total", L{{"method", "GET"}, {"route", "/hello"}, {"status", "200"}}), 7);
  EXPECT_EQ(p->Value("plinth_http_requests_total", L{{"method", "GET"}, {"route", "(not_found)"}, {"status", "404"}}), 3);
  EXPECT_EQ(p->Value("plinth_http_requests_total",
                     L{{"method", "GET"}, {"route", "/api/v1/{table}/{id}"}, {"status", "200"}}), 2);
  EXPECT_EQ(p->Value("plinth_http_requests_total", L{{"method", "PUT"}, {"route", "/hello"}, {"status", "405"}}), 1);
  EXPECT_EQ(p->Value("plinth_http_request_duration_seconds_count", L{{"method", "GET"}, {"route", "/hello"}}), 7);
  EXPECT_EQ(p->types["plinth_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(p->Value("plinth_http_connections"), 1);
  EXPECT_EQ(p->Value("plinth_http_connections_accepted_total"), 1);
  EXPECT_EQ(p->Value("plinth_http_requests_in_flight"), 1);  // the /metrics request itself
  EXPECT_GT(*p->Value("plinth_http_received_bytes_total"), 0);
  // No raw path ever becomes a label value.
  for (const auto& sample : p->samples) {
    auto it = sample.labels.find("route");
    if (it != sample.labels.end()) {
      EXPECT_EQ(it->second.find("/nope/"), std::string::npos);
    }
  }
}

TEST(ServerTest, ListensOnIpv6Loopback) {
  asio::io_context io;
  metrics::MetricsRegistry registry;
  ServerOptions o;
  o.host = "::1";
  o.port = 0;
  auto created = Server::Create(io, o, MakeRouter(), registry);
  if (!created.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << created.status().ToString();
  auto server = std::move(created).value();
  ASSERT_NE(server->port(), 0);
  EXPECT_TRUE(server->endpoints().front().address().is_v6());
  server->Start();
  IoThreads threads(io, 1);
  {
    TestClient c(server->port(), "::1");
    ASSERT_TRUE(c.connected());
    auto r = c.Request("GET", "/hello");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
  }
  server->Stop(Clock::now() + 1s);
}

TEST(ServerTest, CreateReportsBindFailures) {
  asio::io_context io;
  metrics::MetricsRegistry registry;
  ServerOptions o;
  o.port = 0;
  auto first = Server::Create(io, o, MakeRouter(), registry);
  ASSERT_TRUE(first.ok());
  ServerOptions taken;
  taken.port = (*first)->port();
  auto second = Server::Create(io, taken, MakeRouter(), registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(taken.port)), std::string::npos);
  ServerOptions bad;
  bad.host = "not a host name";
  EXPECT_FALSE(Server::Create(io, bad, MakeRouter(), registry).ok());
}

}  // namespace
}  // namespace plinth::http
