// The cases of keys_cases.h, compiled once into the layer's cases library and run by both
// test binaries (SQLite and PostgreSQL).
#include "auth/keys_cases.h"

namespace plinth::testing {

void CaseRotationResumableAndIdempotent(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  Keys keys;
  auto c = d.Admin();
  // Seven rows under three keys, in two tenants.
  int n = 0;
  for (const std::string cur : {"k1", "k1", "k2", "k2", "k3", "k1", "k2"}) {
    ++n;
    PutSecret(*c, keys.Ring(cur), n % 2 ? kOrgA : kOrgB, Id(9, n), "secret-" + std::to_string(n));
  }
  auto before = KeyIds(*c);
  std::map<std::string, int> per_key;
  for (auto& [id, k] : before) per_key[k]++;
  EXPECT_EQ(per_key["k1"], 3);
  EXPECT_EQ(per_key["k2"], 3);
  EXPECT_EQ(per_key["k3"], 1);
  const crypto::Keyring ring = keys.Ring("k3");
  // Interrupted after one batch of two rows.
  auth::RotateOptions o;
  o.batch_size = 2;
  o.max_batches = 1;
  auto first = auth::RotateKeys(*c, d.schema(), ring, o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->complete);
  auto mid = KeyIds(*c);
  int moved = 0;
  for (auto& [id, k] : mid) moved += (k == "k3" && before[id] != "k3");
  EXPECT_EQ(moved, 2);
  // Rerun: resumes, finishes.
  o.max_batches = 0;
  auto second = auth::RotateKeys(*c, d.schema(), ring, o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->complete);
  EXPECT_EQ(second->values_reencrypted, 2 * (6 - 2));  // secret and config of the 4 rows left
  std::map<std::string, std::string> blobs;
  for (auto& [id, k] : KeyIds(*c, &blobs)) EXPECT_EQ(k, "k3") << id;
  // A third run changes nothing.
  auto third = auth::RotateKeys(*c, d.schema(), ring, o);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->values_reencrypted, 0);
  std::map<std::string, std::string> again;
  KeyIds(*c, &again);
  EXPECT_EQ(again, blobs);
  // Every value still decrypts to what was written, bound to its row.
  const bool pg = d.pg();
  auto rows = c->Query(pg ? "SELECT organization_id::text, id::text, encode(secret, 'hex') FROM connections ORDER BY id"
                          : "SELECT organization_id, id, secret FROM connections ORDER BY id");
  ASSERT_TRUE(rows.ok());
  int i = 0;
  for (const auto& r : rows->rows) {
    ++i;
    std::string blob = pg ? *crypto::HexDecode(*r[2]) : *r[2];
    auto plain = ring.Decrypt(blob, auth::ColumnAad("connections", "secret", {*r[0], *r[1]}));
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(*plain, "secret-" + std::to_string(i));
  }
  // k1 can now be dropped from the keyring: the startup check passes without it.
  EXPECT_TRUE(auth::CheckKeyring(*c, d.schema(), keys.Ring("k3", /*with_k1=*/false)).ok());
}

void CaseKeyringStartupCheck(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  Keys keys;
  auto c = d.Admin();
  const crypto::Keyring ring = keys.Ring("k1");
  ASSERT_TRUE(auth::CheckKeyring(*c, d.schema(), ring).ok());  // records k1's canary
  PutSecret(*c, ring, kOrgA, Id(9, 1), "s");
  // k1 missing.
  Status missing = auth::CheckKeyring(*c, d.schema(), keys.Ring("k2", /*with_k1=*/false));
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_NE(missing.message().find("'k1'"), std::string::npos) << missing.message();
  // k1 present but the wrong bytes.
  auto wrong = crypto::Keyring::Parse("k1=" + KeyB64());
  ASSERT_TRUE(wrong.ok());
  Status bad = auth::CheckKeyring(*c, d.schema(), *wrong);
  EXPECT_EQ(bad.code(), Code::kFailedPrecondition);
  EXPECT_NE(bad.message().find("not the key"), std::string::npos) << bad.message();
}

// Through the data runtime: what it writes decrypts; a flipped tag bit and a ciphertext moved to
// another row are errors, never garbage.
void CaseCipherThroughRuntime(const std::string& backend) {
  AuthDb d(backend, "tenants.toml");
  ASSERT_TRUE(d.ok());
  SeedTenants(d);
  Keys keys;
  const crypto::Keyring ring = keys.Ring("k2");
  auth::KeyringCipher cipher(ring);
  IoRunner io;
  auto url = db::ParseUrl(d.runtime_url());
  auto database = db::OpenDatabase(io.io(), *url, db::PoolOptions{});
  ASSERT_TRUE(database.ok());
  data::RuntimeOptions ro;
  ro.cipher = &cipher;
  auto rt = io.Await(data::Runtime::Open(d.schema(), std::move(database).value(), std::move(ro), "0001"));
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  data::Principal p;
  p.kind = data::Principal::Kind::kUser;
  p.tenant_id = kOrgA;
  p.user_id = kAlice;
  p.roles = {"admin"};
  p.role = "admin";
  data::RequestInfo info = Info();
  auto a = io.Await((*rt)->Insert(p, info, "connections", {{"id", Id(7, 1)}, {"name", "a"}, {"secret", "alpha"}}));
  auto b = io.Await((*rt)->Insert(p, info, "connections", {{"id", Id(7, 2)}, {"name", "b"}, {"secret", "bravo"}}));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << b.status().ToString();
  auto got = io.Await((*rt)->Get(p, info, "connections", Id(7, 1), {"id", "secret"}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->rows[0][1], std::optional<std::string>("alpha"));
  auto c = d.Admin();
  const bool pg = d.pg();
  // The stored value is a keyring blob under k2.
  const std::string stored_hex = One(*c, pg ? "SELECT encode(secret, 'hex') FROM connections WHERE id = '" + Id(7, 1) + "'"
                                            : "SELECT hex(secret) FROM connections WHERE id = '" + Id(7, 1) + "'");
  auto stored = crypto::HexDecode(stored_hex);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(crypto::Keyring::KeyIdOf(*stored).value_or("?"), "k2");
  // Moved: row 2 gets row 1's ciphertext.
  Exec(*c, pg ? "UPDATE connections SET secret = (SELECT secret FROM connections WHERE id = '" + Id(7, 1) + "') WHERE id = '" + Id(7, 2) + "'"
              : "UPDATE connections SET secret = (SELECT secret FROM connections WHERE id = '" + Id(7, 1) + "') WHERE id = '" + Id(7, 2) + "'");
  auto moved = io.Await((*rt)->Get(p, info, "connections", Id(7, 2), {"id", "secret"}));
  EXPECT_FALSE(moved.ok());
  // Flipped: the last byte (part of the tag) of row 1.
  std::string flipped = *stored;
  flipped.back() = static_cast<char>(flipped.back() ^ 0x01);
  auto up = c->Query(pg ? "UPDATE connections SET secret = decode($1, 'hex') WHERE id = $2::uuid"
                        : "UPDATE connections SET secret = CAST(?1 AS BLOB) WHERE id = ?2",
                     {pg ? crypto::HexEncode(flipped) : flipped, Id(7, 1)});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto bad = io.Await((*rt)->Get(p, info, "connections", Id(7, 1), {"id", "secret"}));
  EXPECT_FALSE(bad.ok());
  if (!bad.ok()) {
    EXPECT_EQ(bad.status().code(), Code::kDataLoss) << bad.status().ToString();
  }
  io.Await((*rt)->database().Close(db::Clock::now() + std::chrono::seconds(5)));
}

}  // namespace plinth::testing
