// Field encryption: keyring parsing and its errors, the blob format, every modified byte and every
// truncation refused, ciphertexts moved to another row/column/table refused, rotation across three
// keys, a missing key reported clearly, the per-key encryption counter.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "plinth/crypto.h"
#include "plinth/keyring.h"

namespace plinth::crypto {
namespace {

std::string Key(char fill) { return std::string(kAes256KeyBytes, fill); }
std::string KeyText(char fill) { return Base64Encode(Key(fill)); }

Keyring Ring(std::string_view text) {
  auto r = Keyring::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

const std::string kAad = BuildAad("settings", "value", "row-1");

TEST(Aad, KnownEncodingAndUnambiguous) {
  // Python: b"plinth/aad/v1" + b"".join(len(x).to_bytes(4,"big") + x for x in [b"settings", b"value", b"row-1"])
  EXPECT_EQ(HexEncode(kAad),
            "706c696e74682f6161642f76310000000873657474696e67730000000576616c756500000005726f772d31");
  EXPECT_NE(BuildAad("ab", "c", "d"), BuildAad("a", "bc", "d"));
  EXPECT_NE(BuildAad("a", "b", "cd"), BuildAad("a", "bc", "d"));
  EXPECT_NE(BuildAad("t", "c", std::string("1\0", 2)), BuildAad("t", "c", "1"));
  EXPECT_NE(BuildAad("", "c", "r"), BuildAad("c", "", "r"));
}

TEST(Keyring, ParsesTheDocumentedFormat) {
  Keyring ring = Ring("k1=" + KeyText('a') + ", k2=" + KeyText('b') + " ; current=k2");
  EXPECT_EQ(ring.current_key_id(), "k2");
  EXPECT_EQ(ring.key_ids(), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(ring.HasKey("k1"));
  EXPECT_FALSE(ring.HasKey("k3"));
  // One key needs no current=.
  EXPECT_EQ(Ring("only=" + KeyText('a')).current_key_id(), "only");
  // Unpadded base64url keys are accepted too.
  std::string url = Base64UrlEncode(Key('\xfb'));
  EXPECT_EQ(Ring("u.1-x_=" + url).current_key_id(), "u.1-x_");
  // The generated key text parses.
  EXPECT_TRUE(Keyring::Parse("g=" + Keyring::GenerateKeyText()).ok());
}

TEST(Keyring, ErrorsNameTheEntryWithoutKeyMaterial) {
  const std::string a = KeyText('a'), b = KeyText('b');
  const std::string short_key = Base64Encode(std::string(16, 'z'));
  struct Case {
    std::string text;
    std::string expect;
  };
  const Case kCases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"k1=" + a + "," + b, "entry 2:"},  // a bare key: reported by position only
      {"k1=" + a + ",k2=" + short_key, "entry 2 ('k2'): key must be 32 bytes"},
      {"k1=" + a + ",k2=%%%notbase64", "entry 2 ('k2'): key is not base64"},
      {"k1=" + a + ",k1=" + b + ";current=k1", "'k1' appears twice"},
      {"k1=" + a + ",k2=" + a + ";current=k1", "holds the same key as 'k1'"},
      {"k1=" + a + ",k2=" + b, "name the one for new values"},
      {"k1=" + a + ",k2=" + b + ";current=k3", "current key 'k3' is not among the keys"},
      {"k1=" + a + ";current=", "names no key"},
      {"k1=" + a + ";current=k1;current=k1", "given twice"},
      {"k1=" + a + ";primary=k1", "must be current=<id>"},
      {"bad id=" + a, "entry 1: key id must be"},
      {std::string(33, 'k') + "=" + a, "entry 1: key id must be"},
      {"=" + a, "entry 1: expected <id>=<base64 key>"},
  };
  for (const Case& c : kCases) {
    auto r = Keyring::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    for (const std::string& secret : {a, b, short_key, a.substr(0, 20), b.substr(0, 20)}) {
      EXPECT_EQ(r.status().message().find(secret), std::string::npos) << "key material in: " << r.status().message();
    }
  }
}

TEST(Keyring, EncryptDecryptAndBlobLayout) {
  Keyring ring = Ring("k1=" + KeyText('a') + ",primary=" + KeyText('b') + ";current=primary");
  auto blob = ring.Encrypt("hunter2", kAad);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  // 0x01 | 7 | "primary" | nonce(12) | ciphertext(7) | tag(16)
  ASSERT_EQ(blob->size(), kCiphertextOverhead + 7 + 7);
  EXPECT_EQ(static_cast<std::uint8_t>((*blob)[0]), kCiphertextVersion);
  EXPECT_EQ(static_cast<std::uint8_t>((*blob)[1]), 7);
  EXPECT_EQ(blob->substr(2, 7), "primary");
  EXPECT_EQ(blob->find("hunter2"), std::string::npos);
  EXPECT_EQ(*Keyring::KeyIdOf(*blob), "primary");
  auto plain = ring.Decrypt(*blob, kAad);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(*plain, "hunter2");
  // Empty plaintext and binary plaintext.
  auto empty = ring.Encrypt("", kAad);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*ring.Decrypt(*empty, kAad), "");
  std::string binary("\x00\xff\x00", 3);
  EXPECT_EQ(*ring.Decrypt(*ring.Encrypt(binary, kAad), kAad), binary);
}

TEST(Keyring, NoncesAreFresh) {
  Keyring ring = Ring("k=" + KeyText('a'));
  std::set<std::string> nonces, blobs;
  for (int i = 0; i < 200; ++i) {
    auto blob = ring.Encrypt("same value", kAad);
    ASSERT_TRUE(blob.ok());
    EXPECT_TRUE(nonces.insert(blob->substr(3, kGcmNonceBytes)).second);
    EXPECT_TRUE(blobs.insert(*blob).second);
  }
  EXPECT_EQ(ring.EncryptionCount("k"), 200u);
  EXPECT_EQ(ring.EncryptionCount("nope"), 0u);
}

TEST(Keyring, EveryModifiedByteIsRefused) {
  Keyring ring = Ring("k1=" + KeyText('a') + ",k2=" + KeyText('b') + ";current=k1");
  auto blob = ring.Encrypt("the quick brown fox", kAad);
  ASSERT_TRUE(blob.ok());
  for (std::size_t i = 0; i < blob->size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = *blob;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto r = ring.Decrypt(bad, kAad);
      ASSERT_FALSE(r.ok()) << "byte " << i << " mask " << int(mask);
      EXPECT_TRUE(r.status().code() == Code::kDataLoss || r.status().code() == Code::kFailedPrecondition)
          << r.status().ToString();
    }
  }
  // Re-labelling the blob with the other key's id (same length) fails authentication.
  std::string relabelled = *blob;
  relabelled[3] = '2';
  EXPECT_EQ(ring.Decrypt(relabelled, kAad).status().code(), Code::kDataLoss);
}

TEST(Keyring, EveryTruncationIsRefused) {
  Keyring ring = Ring("k1=" + KeyText('a'));
  auto blob = ring.Encrypt("value", kAad);
  ASSERT_TRUE(blob.ok());
  for (std::size_t n = 0; n < blob->size(); ++n) {
    auto r = ring.Decrypt(blob->substr(0, n), kAad);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << n;
  }
  EXPECT_EQ(ring.Decrypt(*blob + "x", kAad).status().code(), Code::kDataLoss);
}

TEST(Keyring, MovedCiphertextDoesNotDecrypt) {
  Keyring ring = Ring("k1=" + KeyText('a'));
  std::string aad = BuildAad("settings", "value", CanonicalEncodeList({"tenant-a", "42"}));
  auto blob = ring.Encrypt("s3cr3t", aad);
  ASSERT_TRUE(blob.ok());
  ASSERT_TRUE(ring.Decrypt(*blob, aad).ok());
  const std::string kElsewhere[] = {
      BuildAad("settings", "value", CanonicalEncodeList({"tenant-a", "43"})),   // another row
      BuildAad("settings", "value", CanonicalEncodeList({"tenant-b", "42"})),   // another tenant
      BuildAad("settings", "description", CanonicalEncodeList({"tenant-a", "42"})),  // another column
      BuildAad("connections", "value", CanonicalEncodeList({"tenant-a", "42"})),     // another table
      "",
  };
  for (const std::string& other : kElsewhere) {
    auto r = ring.Decrypt(*blob, other);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kDataLoss);
    EXPECT_NE(r.status().message().find("another row or column"), std::string::npos);
  }
}

TEST(Keyring, WrongKeyUnderTheSameIdIsRefused) {
  Keyring writer = Ring("k1=" + KeyText('a'));
  Keyring reader = Ring("k1=" + KeyText('c'));
  auto blob = writer.Encrypt("value", kAad);
  ASSERT_TRUE(blob.ok());
  auto r = reader.Decrypt(*blob, kAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("k1"), std::string::npos);
}

TEST(Keyring, RotationAcrossThreeKeys) {
  const std::string k1 = "k1=" + KeyText('1'), k2 = "k2=" + KeyText('2'), k3 = "k3=" + KeyText('3');
  // Rows written over time: under k1, then k2, then k3.
  Keyring era1 = Ring(k1);
  Keyring era2 = Ring(k1 + "," + k2 + ";current=k2");
  Keyring era3 = Ring(k1 + "," + k2 + "," + k3 + ";current=k3");
  struct Row {
    std::string aad, plain, blob;
  };
  std::vector<Row> rows;
  const Keyring* eras[] = {&era1, &era2, &era3};
  for (int i = 0; i < 9; ++i) {
    Row r{BuildAad("settings", "value", std::to_string(i)), "value-" + std::to_string(i), ""};
    r.blob = *eras[i / 3]->Encrypt(r.plain, r.aad);
    rows.push_back(r);
  }
  EXPECT_EQ(*Keyring::KeyIdOf(rows[0].blob), "k1");
  EXPECT_EQ(*Keyring::KeyIdOf(rows[4].blob), "k2");
  EXPECT_EQ(*Keyring::KeyIdOf(rows[8].blob), "k3");
  // The current ring reads everything; only k1/k2 rows need re-encryption.
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(*era3.Decrypt(rows[i].blob, rows[i].aad), rows[i].plain);
    EXPECT_EQ(era3.NeedsReencrypt(rows[i].blob), i < 6) << i;
  }
  // `plinth keys rotate`, interrupted after 4 rows, then resumed from the start: idempotent.
  auto rotate = [&](std::size_t limit) {
    for (std::size_t i = 0; i < std::min(limit, rows.size()); ++i) {
      auto r = era3.Reencrypt(rows[i].blob, rows[i].aad);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      rows[i].blob = *r;
    }
  };
  rotate(4);
  std::vector<std::string> after_partial;
  for (const Row& r : rows) after_partial.push_back(r.blob);
  rotate(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_FALSE(era3.NeedsReencrypt(rows[i].blob));
    EXPECT_EQ(*Keyring::KeyIdOf(rows[i].blob), "k3");
    EXPECT_EQ(*era3.Decrypt(rows[i].blob, rows[i].aad), rows[i].plain);
    if (i < 4 || i >= 6) {
      EXPECT_EQ(rows[i].blob, after_partial[i]) << "an up-to-date row was rewritten: " << i;
    }
  }
  // Once nothing references k1 and k2 they can be removed.
  Keyring pruned = Ring(k3);
  for (const Row& r : rows) EXPECT_EQ(*pruned.Decrypt(r.blob, r.aad), r.plain);
}

TEST(Keyring, MissingKeyIsAClearError) {
  Keyring old_ring = Ring("k1=" + KeyText('1'));
  auto blob = old_ring.Encrypt("value", kAad);
  ASSERT_TRUE(blob.ok());
  Keyring new_ring = Ring("k2=" + KeyText('2'));
  auto r = new_ring.Decrypt(*blob, kAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("'k1'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not in the keyring"), std::string::npos);
  EXPECT_EQ(r.status().object(), "k1");
  // Rotation surfaces it instead of skipping the row.
  EXPECT_TRUE(new_ring.NeedsReencrypt(*blob));
  EXPECT_EQ(new_ring.Reencrypt(*blob, kAad).status().code(), Code::kFailedPrecondition);
}

TEST(Keyring, ReencryptAuthenticatesRowsAlreadyCurrent) {
  Keyring ring = Ring("k1=" + KeyText('1'));
  auto blob = ring.Encrypt("value", kAad);
  ASSERT_TRUE(blob.ok());
  std::string damaged = *blob;
  damaged.back() = static_cast<char>(damaged.back() ^ 1);
  EXPECT_FALSE(ring.NeedsReencrypt(damaged));
  EXPECT_EQ(ring.Reencrypt(damaged, kAad).status().code(), Code::kDataLoss);
  EXPECT_TRUE(ring.NeedsReencrypt("garbage"));
  EXPECT_EQ(ring.Reencrypt("garbage", kAad).status().code(), Code::kDataLoss);
}

TEST(Keyring, UnknownVersionIsRefused) {
  Keyring ring = Ring("k1=" + KeyText('1'));
  auto blob = ring.Encrypt("value", kAad);
  ASSERT_TRUE(blob.ok());
  std::string v2 = *blob;
  v2[0] = 0x02;
  auto r = ring.Decrypt(v2, kAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("version"), std::string::npos);
}

TEST(Keyring, DecryptsTheSettingsServiceLegacyFormat) {
  // base64(nonce || ciphertext || tag) under a raw key, no AAD, as the settings service stored it.
  Keyring ring = Ring("legacy=" + KeyText('L'));
  std::string nonce(kGcmNonceBytes, 'N');
  auto sealed = Aes256GcmSeal(Key('L'), nonce, "old value", "");
  ASSERT_TRUE(sealed.ok());
  std::string stored = Base64Encode(nonce + *sealed);
  auto raw = Base64Decode(stored);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*ring.DecryptUnversioned(*raw, "legacy"), "old value");
  EXPECT_EQ(ring.DecryptUnversioned(raw->substr(0, 20), "legacy").status().code(), Code::kDataLoss);
  EXPECT_EQ(ring.DecryptUnversioned(*raw, "other").status().code(), Code::kFailedPrecondition);
  std::string bad = *raw;
  bad[15] = static_cast<char>(bad[15] ^ 1);
  EXPECT_EQ(ring.DecryptUnversioned(bad, "legacy").status().code(), Code::kDataLoss);
}

TEST(Keyring, FromKeysValidates) {
  EXPECT_FALSE(Keyring::FromKeys({}, "").ok());
  EXPECT_FALSE(Keyring::FromKeys({{"k", std::string(31, 'a')}}, "").ok());
  EXPECT_FALSE(Keyring::FromKeys({{"k", Key('a')}}, "other").ok());
  auto ok = Keyring::FromKeys({{"a", Key('a')}, {"b", Key('b')}}, "b");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->current_key_id(), "b");
}

}  // namespace
}  // namespace plinth::crypto
