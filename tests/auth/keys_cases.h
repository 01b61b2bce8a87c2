// tests/auth/keys_cases.h — encrypted columns on both databases (keys_test.cc, keys_pgtest.cc):
// the keyring cipher through the data runtime (a flipped tag bit and a ciphertext moved to
// another row both fail), the startup check (missing or wrong key), and `keys rotate` over rows
// under three keys — interrupted, resumed, and run again without changing anything.
#pragma once

#include <gtest/gtest.h>

#include <map>

#include "auth/authn_cases.h"
#include "plinth/keyring.h"

namespace plinth::testing {

inline std::string KeyB64() { return crypto::Base64Encode(crypto::RandomBytes(32)); }

struct Keys {
  std::string k1 = KeyB64(), k2 = KeyB64(), k3 = KeyB64();
  crypto::Keyring Ring(const std::string& current, bool with_k1 = true) const {
    std::string text = (with_k1 ? "k1=" + k1 + ", " : std::string()) + "k2=" + k2 + ", k3=" + k3 + "; current=" + current;
    auto r = crypto::Keyring::Parse(text);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }
};

// Writes a connections row whose secret and config are encrypted under `ring`'s current key.
inline void PutSecret(db::Connection& c, const crypto::Keyring& ring, const std::string& org, const std::string& id,
                      const std::string& secret) {
  const bool pg = c.backend() == db::Backend::kPostgres;
  auto blob = ring.Encrypt(secret, auth::ColumnAad("connections", "secret", {org, id}));
  auto cfg = ring.Encrypt("{\"token\":\"" + secret + "\"}", auth::ColumnAad("connections", "config", {org, id}));
  ASSERT_TRUE(blob.ok() && cfg.ok());
  auto r = c.Query(pg ? "INSERT INTO connections (id, organization_id, name, secret, config) VALUES ($1::uuid, $2::uuid, $3, "
                        "decode($4, 'hex'), decode($5, 'hex'))"
                      : "INSERT INTO connections (id, organization_id, name, secret, config) VALUES (?1, ?2, ?3, CAST(?4 AS "
                        "BLOB), CAST(?5 AS BLOB))",
                   {id, org, "c-" + id.substr(30), pg ? crypto::HexEncode(*blob) : *blob, pg ? crypto::HexEncode(*cfg) : *cfg});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

// id → key id of its secret, and the raw blobs (to prove a rerun changes nothing).
inline std::map<std::string, std::string> KeyIds(db::Connection& c, std::map<std::string, std::string>* blobs = nullptr) {
  const bool pg = c.backend() == db::Backend::kPostgres;
  auto r = c.Query(pg ? "SELECT id::text, encode(secret, 'hex'), encode(config, 'hex') FROM connections ORDER BY id"
                      : "SELECT id, secret, config FROM connections ORDER BY id");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::string> out;
  if (!r.ok()) return out;
  for (const auto& row : r->rows) {
    std::string blob = pg ? *crypto::HexDecode(*row[1]) : *row[1];
    out[*row[0]] = crypto::Keyring::KeyIdOf(blob).value_or("?");
    if (blobs) (*blobs)[*row[0]] = *row[1] + "|" + *row[2];
  }
  return out;
}

// The cases (defined in the .cc beside this header, compiled once for both test binaries).
void CaseRotationResumableAndIdempotent(const std::string& backend);
void CaseKeyringStartupCheck(const std::string& backend);
void CaseCipherThroughRuntime(const std::string& backend);

}  // namespace plinth::testing

#define PLINTH_KEYS_TESTS(Suite, backend)                                                                        \
  TEST(Suite, RotationIsResumableAndIdempotent) { ::plinth::testing::CaseRotationResumableAndIdempotent(backend); } \
  TEST(Suite, StartupCheckFindsMissingAndWrongKeys) { ::plinth::testing::CaseKeyringStartupCheck(backend); }     \
  TEST(Suite, TamperedAndMovedCiphertextFailThroughRuntime) { ::plinth::testing::CaseCipherThroughRuntime(backend); }
