// Crypto layer benchmarks: Argon2id hash/verify at the default (OWASP) parameters, single-threaded
// and through a saturated HashPool (with the latency of the I/O thread meanwhile), the dummy
// verification, legacy PBKDF2 verification, AES-256-GCM field encryption of 64 B and 4 KiB values,
// API key verification, JWT sign/verify and the audit chain hash.
//
//   cmake --build build/release --target crypto_benchmark && build/release/crypto_benchmark
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "plinth/apikey.h"
#include "plinth/crypto.h"
#include "plinth/hash_pool.h"
#include "plinth/jwt.h"
#include "plinth/keyring.h"
#include "plinth/password.h"

namespace {

namespace asio = boost::asio;
using namespace plinth;
using namespace plinth::crypto;

const Argon2Params kDefaults{};
constexpr const char* kPassword = "correct horse battery staple";

void BM_Argon2idHash(benchmark::State& state) {
  for (auto _ : state) {
    auto phc = HashPassword(kPassword, kDefaults);
    benchmark::DoNotOptimize(phc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idHash)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Argon2idVerify(benchmark::State& state) {
  std::string phc = *HashPassword(kPassword, kDefaults);
  for (auto _ : state) {
    auto ok = VerifyPassword(kPassword, phc);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idVerify)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a login for an unknown user costs; compare with BM_Argon2idVerify.
void BM_DummyVerify(benchmark::State& state) {
  for (auto _ : state) DummyVerify(kPassword, kDefaults);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DummyVerify)->Unit(benchmark::kMillisecond)->UseRealTime();

// A settings-service user still on PBKDF2-SHA256 with 480,000 iterations (until first login).
void BM_Pbkdf2Verify480k(benchmark::State& state) {
  std::string stored = "pbkdf2_sha256$480000$Qm3kVb8RtZ1xLp0W$PWfQ70pvQyrYSoSMUd6sU4P3VLydnElzxTUhHwZyjVc=";
  for (auto _ : state) {
    auto ok = VerifyPassword(kPassword, stored);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Pbkdf2Verify480k)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

// A burst of `range(0)` concurrent logins (Verify at default parameters) against a pool with the
// default size (hardware threads, 8 queued per thread). Bursts larger than threads + queue are
// partly refused at once with kUnavailable. Meanwhile a probe on the I/O thread measures how long
// a posted no-op waits to run: the latency other requests would see.
void BM_PoolSaturatedVerify(benchmark::State& state) {
  auto pool = std::move(HashPool::Create({.params = kDefaults})).value();
  std::string phc = *HashPassword(kPassword, kDefaults);
  const int burst = static_cast<int>(state.range(0));
  std::uint64_t verified = 0, refused = 0;
  std::vector<double> probe_us;
  for (auto _ : state) {
    asio::io_context io;
    int finished = 0;
    for (int i = 0; i < burst; ++i) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            auto r = co_await pool->Verify(kPassword, phc);
            if (r.ok() && *r) ++verified;
            else if (r.status().code() == Code::kUnavailable) ++refused;
            ++finished;
          },
          asio::detached);
    }
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(io);
          while (finished < burst) {
            auto t0 = std::chrono::steady_clock::now();
            co_await asio::post(io, asio::use_awaitable);
            probe_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
            timer.expires_after(std::chrono::milliseconds(1));
            co_await timer.async_wait(asio::use_awaitable);
          }
        },
        asio::detached);
    io.run();
  }
  std::sort(probe_us.begin(), probe_us.end());
  auto pct = [&](double p) {
    return probe_us.empty() ? 0.0 : probe_us[std::min(probe_us.size() - 1, std::size_t(p * double(probe_us.size())))];
  };
  state.counters["threads"] = pool->threads();
  state.counters["queue"] = double(pool->queue_capacity());
  state.counters["verified/s"] = benchmark::Counter(double(verified), benchmark::Counter::kIsRate);
  state.counters["refused/burst"] = double(refused) / double(state.iterations());
  state.counters["io_p50_us"] = pct(0.50);
  state.counters["io_p99_us"] = pct(0.99);
  state.counters["io_max_us"] = probe_us.empty() ? 0.0 : probe_us.back();
}
BENCHMARK(BM_PoolSaturatedVerify)
    ->Arg(static_cast<int>(9 * std::max(1u, std::thread::hardware_concurrency())))  // threads + queue: all accepted
    ->Arg(static_cast<int>(36 * std::max(1u, std::thread::hardware_concurrency())))  // 4× that: most refused
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

Keyring& BenchRing() {
  static Keyring ring = std::move(Keyring::Parse("k1=" + Keyring::GenerateKeyText() + ",k2=" +
                                                 Keyring::GenerateKeyText() + ";current=k2"))
                            .value();
  return ring;
}

void BM_FieldEncrypt(benchmark::State& state) {
  std::string value(static_cast<std::size_t>(state.range(0)), 'v');
  std::string aad = BuildAad("settings", "value", CanonicalEncodeList({"tenant-1", "row-42"}));
  for (auto _ : state) {
    auto blob = BenchRing().Encrypt(value, aad);
    benchmark::DoNotOptimize(blob);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FieldEncrypt)->Arg(64)->Arg(4096);

void BM_FieldDecrypt(benchmark::State& state) {
  std::string value(static_cast<std::size_t>(state.range(0)), 'v');
  std::string aad = BuildAad("settings", "value", CanonicalEncodeList({"tenant-1", "row-42"}));
  std::string blob = *BenchRing().Encrypt(value, aad);
  for (auto _ : state) {
    auto plain = BenchRing().Decrypt(blob, aad);
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FieldDecrypt)->Arg(64)->Arg(4096);

void BM_ApiKeyVerify(benchmark::State& state) {
  auto hasher = *ApiKeyHasher::Create(state.range(0) ? std::string(48, 'p') + "epper-material" : std::string());
  NewApiKey key = hasher.Generate();
  for (auto _ : state) {
    Status s = hasher.Verify(key.key, key.stored_hash);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) ? "hmac-sha256 (pepper)" : "sha-256");
}
BENCHMARK(BM_ApiKeyVerify)->Arg(0)->Arg(1);

// A typo'd key: refused by the checksum, no hashing, no lookup.
void BM_ApiKeyParseTypo(benchmark::State& state) {
  std::string key = ApiKeyHasher::Create()->Generate().key;
  key[25] = key[25] == 'a' ? 'b' : 'a';
  for (auto _ : state) {
    auto r = ParseApiKey(key);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApiKeyParseTypo);

JwtCodec BenchCodec() {
  return *JwtCodec::Create({.issuer = "https://plinth.example",
                            .audience = "plinth-api",
                            .keys = {{"k1", RandomBytes(32)}, {"k2", RandomBytes(32)}},
                            .current_key_id = "k2"});
}

JwtClaims BenchClaims() {
  JwtClaims c;
  c.subject = "8d3c6a2e-4b1f-4c55-9a0e-1f2b3c4d5e6f";
  c.jti = RandomTokenId();
  c.tenant_id = "0b7e2d1c-9f8a-4e3b-a1c2-d3e4f5a6b7c8";
  c.session_id = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
  c.roles = {"admin", "editor"};
  c.issued_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  c.expires_at = c.issued_at + std::chrono::minutes(15);
  return c;
}

void BM_JwtSign(benchmark::State& state) {
  JwtCodec codec = BenchCodec();
  JwtClaims claims = BenchClaims();
  for (auto _ : state) {
    auto t = codec.Sign(claims, TokenType::kAccess);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwtSign);

void BM_JwtVerify(benchmark::State& state) {
  JwtCodec codec = BenchCodec();
  std::string token = *codec.Sign(BenchClaims(), TokenType::kAccess);
  for (auto _ : state) {
    auto c = codec.Verify(token, TokenType::kAccess);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::to_string(token.size()) + " B token");
}
BENCHMARK(BM_JwtVerify);

// A forged token (bad MAC) is refused before its payload is parsed.
void BM_JwtVerifyForged(benchmark::State& state) {
  JwtCodec codec = BenchCodec();
  std::string token = *codec.Sign(BenchClaims(), TokenType::kAccess);
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  for (auto _ : state) {
    auto c = codec.Verify(token, TokenType::kAccess);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwtVerifyForged);

void BM_AuditChainHash(benchmark::State& state) {
  std::vector<std::optional<std::string>> row = {"42",          "tenant-1", "user-7",    "update", "settings",
                                                 "row-42",      R"({"value":"[redacted]","category":"mail"})",
                                                 "req-8f2a",    "10.0.0.7", "curl/8.0",  "2024-05-01T12:00:00Z"};
  Sha256Digest prev = kChainGenesis;
  for (auto _ : state) {
    prev = ChainHash(prev, CanonicalEncode(row));
    benchmark::DoNotOptimize(prev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditChainHash);

}  // namespace

BENCHMARK_MAIN();
