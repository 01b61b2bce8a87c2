// Primitives of crypto.h against published vectors: RFC 4648 (base16/64), FIPS 180-2 (SHA-256),
// RFC 4231 (HMAC-SHA256), RFC 7914 §11 (PBKDF2-HMAC-SHA256), McGrew–Viega GCM test cases 13–16
// and Project Wycheproof aes_gcm_test.json (AES-256-GCM), CRC-32 check value.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(Encoding, Rfc4648Base64Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, b64] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), b64);
    auto d = Base64Decode(b64);
    ASSERT_TRUE(d.ok()) << b64;
    EXPECT_EQ(*d, plain);
    std::string url = b64;
    while (!url.empty() && url.back() == '=') url.pop_back();
    EXPECT_EQ(Base64UrlEncode(plain), url);
    auto du = Base64UrlDecode(url);
    ASSERT_TRUE(du.ok()) << url;
    EXPECT_EQ(*du, plain);
  }
}

TEST(Encoding, Base64UrlUsesUrlAlphabet) {
  std::string bytes = "\xfb\xff\xbf";
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), bytes);
  EXPECT_FALSE(Base64UrlDecode("+/+/").ok());
  EXPECT_FALSE(Base64Decode("-_-_").ok());
}

TEST(Encoding, Base64RejectsBadInput) {
  for (std::string_view bad : {"Zg", "Zg=", "Zg===", "Z===", "Zm9v YmFy", "Zm9v\n", "Zh==", "Zm9=", "=Zg=", "Z*==",
                               "Zm=v"}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
  // base64url: no padding, canonical trailing bits, length not 1 mod 4.
  for (std::string_view bad : {"Zg==", "Zm8=", "Z", "Zh", "Zm9", "Zm9vY", "Zm9v.", "Zm9v+"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
  }
}

TEST(Encoding, HexRoundTripAndErrors) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_FALSE(DigestFromHex("00").ok());
  EXPECT_TRUE(DigestFromHex(std::string(64, 'a')).ok());
}

TEST(Hashing, Sha256Fips180Vectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// RFC 4231 §4.2–4.8, HMAC-SHA-256 outputs.
TEST(Hashing, HmacSha256Rfc4231) {
  struct Case {
    std::string key, data, mac_hex;
    std::size_t truncate = 32;
  };
  const std::string aa131(131, '\xaa');
  const Case kCases[] = {
      {std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b", 16},
      {aa131, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {aa131,
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  int n = 1;
  for (const Case& c : kCases) {
    std::string mac = HexEncode(HmacSha256(c.key, c.data));
    EXPECT_EQ(mac.substr(0, c.truncate * 2), c.mac_hex) << "RFC 4231 test case " << n;
    ++n;
  }
}

TEST(Hashing, PrecomputedHmacKeyMatchesOneShotAcrossThreads) {
  const std::string long_key(131, '\xaa');
  for (const std::string& key : {std::string(), std::string("Jefe"), std::string(64, 'k'), long_key}) {
    HmacSha256Key keyed(key);
    for (std::string msg : {std::string(), std::string("x"), std::string(1000, 'm')}) {
      EXPECT_EQ(keyed.Mac(msg), HmacSha256(key, msg));
    }
  }
  // RFC 4231 test case 7 through one shared key object, from several threads at once.
  HmacSha256Key shared(long_key);
  HmacSha256Key copy = shared;  // copies share the state
  const std::string data =
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
      "hashed before being used by the HMAC algorithm.";
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (HexEncode((t % 2 ? copy : shared).Mac(data)) ==
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2") {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 2000);
}

// RFC 7914 §11: PBKDF2-HMAC-SHA256 test vectors.
TEST(Hashing, Pbkdf2Rfc7914) {
  auto a = Pbkdf2HmacSha256("passwd", "salt", 1, 64);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(HexEncode(*a),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
  auto b = Pbkdf2HmacSha256("Password", "NaCl", 80000, 64);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(HexEncode(*b),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
            "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
  EXPECT_FALSE(Pbkdf2HmacSha256("p", "s", 0, 32).ok());
  EXPECT_FALSE(Pbkdf2HmacSha256("p", "s", 1, 0).ok());
}

TEST(Hashing, Crc32CheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard CRC-32 check value
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(Random, BytesAreFreshAndSized) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    std::string r = RandomBytes(16);
    EXPECT_EQ(r.size(), 16u);
    EXPECT_TRUE(seen.insert(r).second) << "CSPRNG repeated a 128-bit value";
  }
  EXPECT_TRUE(RandomBytes(0).empty());
}

TEST(Random, StringUsesOnlyTheAlphabetAndCoversIt) {
  std::string s = RandomString(4000, "abc");
  EXPECT_EQ(s.size(), 4000u);
  std::set<char> chars(s.begin(), s.end());
  EXPECT_EQ(chars, (std::set<char>{'a', 'b', 'c'}));
}

TEST(Compare, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(Compare, SecureWipeClears) {
  std::string s = "secret";
  SecureWipe(s);
  EXPECT_TRUE(s.empty());
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* aad;
  const char* msg;
  const char* ct;
  const char* tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13–16 (AES-256), and
// Wycheproof aes_gcm_test.json tcId 82–85, 92, 93 (keySize 256, ivSize 96).
const GcmVector kGcmVectors[] = {
    {"GCM TC13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM TC14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM TC15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de"
     "657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7"
     "a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM TC16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de"
     "657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7"
     "a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"Wycheproof 82", "b279f57e19c8f53f2f963f5f2519fdb7c1779be2ca2b3ae8e1128b7d6c627fc4", "98bc2c7438d5cd7665d76f6e",
     "c0", "fcc515b294408c8645c9183e3f4ecee5127846d1", "eb5500e3825952866d911253f8de860c00831c81",
     "ecb660e1fb0541ec41e8d68a64141b3a"},
    {"Wycheproof 83", "cdccfe3f46d782ef47df4e72f0c02d9c7f774def970d23486f11a57f54247f17", "376187894605a8d45e30de51",
     "956846a209e087ed", "e28e0e9f9d22463ac0e42639b530f42102fded75", "feca44952447015b5df1f456df8ca4bb4eee2ce2",
     "082e91924deeb77880e1b1c84f9b8d30"},
    {"Wycheproof 84", "f32364b1d339d82e4f132d8f4a0ec1ff7e746517fa07ef1a7f422f4e25a48194", "5a86a50a0e8a179c734b996d",
     "ab2ac7c44c60bdf8228c7884adb20184", "43891bccb522b1e72a6b53cf31c074e9d6c2df8e",
     "43dda832e942e286da314daa99bef5071d9d2c78", "c3922583476ced575404ddb85dd8cd44"},
    {"Wycheproof 85", "ff0089ee870a4a39f645b0a5da774f7a5911e9696fc9cad646452c2aa8595a12", "bc2a7757d0ce2d8b1f14ccd9",
     "972ab4e06390caae8f99dd6e2187be6c7ff2c08a24be16ef", "748b28031621d95ee61812b4b4f47d04c6fc2ff3",
     "a929ee7e67c7a2f91bbcec6389a3caf43ab49305", "ebec6774b955e789591c822dab739e12"},
    {"Wycheproof 92", "00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f", "000000000000000000000000", "",
     "561008fa07a68f5c61285cd013464eaf", "23293e9b07ca7d1b0cae7cc489a973b3", "ffffffffffffffffffffffffffffffff"},
    {"Wycheproof 93", "00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f", "ffffffffffffffffffffffff", "",
     "c6152244cea1978d3e0bc274cf8c0b3b", "7cb6fc7c6abc009efe9551a99f36a421", "00000000000000000000000000000000"},
};

TEST(AesGcm, KnownAnswers) {
  for (const GcmVector& v : kGcmVectors) {
    std::string key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad), msg = Unhex(v.msg);
    auto sealed = Aes256GcmSeal(key, iv, msg, aad);
    ASSERT_TRUE(sealed.ok()) << v.name << ": " << sealed.status().ToString();
    EXPECT_EQ(HexEncode(*sealed), std::string(v.ct) + v.tag) << v.name;
    auto opened = Aes256GcmOpen(key, iv, Unhex(std::string(v.ct) + v.tag), aad);
    ASSERT_TRUE(opened.ok()) << v.name << ": " << opened.status().ToString();
    EXPECT_EQ(*opened, msg) << v.name;
  }
}

// Wycheproof tcId 94–120 flip tag bits of one message; here every bit of the tag and of the
// ciphertext, and every bit of the AAD, of each vector.
TEST(AesGcm, EveryFlippedBitFailsAuthentication) {
  for (const GcmVector& v : kGcmVectors) {
    std::string key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad);
    std::string sealed = Unhex(std::string(v.ct) + v.tag);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = sealed;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        auto r = Aes256GcmOpen(key, iv, bad, aad);
        ASSERT_FALSE(r.ok()) << v.name << " byte " << i << " bit " << bit;
        EXPECT_EQ(r.status().code(), Code::kDataLoss);
      }
    }
    for (std::size_t i = 0; i < aad.size(); ++i) {
      std::string bad = aad;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      EXPECT_FALSE(Aes256GcmOpen(key, iv, sealed, bad).ok()) << v.name << " aad byte " << i;
    }
    std::string other_iv = iv;
    other_iv[0] = static_cast<char>(other_iv[0] ^ 0x80);
    EXPECT_FALSE(Aes256GcmOpen(key, other_iv, sealed, aad).ok()) << v.name;
  }
}

TEST(AesGcm, WycheproofInvalidTagsAreRejected) {
  // tcId 94, 96, 101, 109: flipped bits 0, 7, 63, 120 of the tag 9ce8fef6d8ab1bf1bf887232eab590dd.
  std::string key = Unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  std::string iv = Unhex("505152535455565758595a5b");
  std::string ct = Unhex("b2061457c0759fc1749f174ee1ccadfa");
  auto good = Aes256GcmOpen(key, iv, ct + Unhex("9ce8fef6d8ab1bf1bf887232eab590dd"), "");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(HexEncode(*good), "202122232425262728292a2b2c2d2e2f");
  for (const char* tag : {"9de8fef6d8ab1bf1bf887232eab590dd", "1ce8fef6d8ab1bf1bf887232eab590dd",
                          "9ce8fef6d8ab1b71bf887232eab590dd", "9ce8fef6d8ab1bf1bf887232eab590dc",
                          "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"}) {
    EXPECT_FALSE(Aes256GcmOpen(key, iv, ct + Unhex(tag), "").ok()) << tag;
  }
}

TEST(AesGcm, RejectsBadSizesAndTruncation) {
  std::string key(32, 'k'), iv(12, 'n');
  EXPECT_EQ(Aes256GcmSeal(std::string(16, 'k'), iv, "x", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmSeal(key, std::string(16, 'n'), "x", "").status().code(), Code::kInvalidArgument);
  auto sealed = Aes256GcmSeal(key, iv, "hello", "aad");
  ASSERT_TRUE(sealed.ok());
  for (std::size_t n = 0; n < sealed->size(); ++n) {
    EXPECT_FALSE(Aes256GcmOpen(key, iv, sealed->substr(0, n), "aad").ok()) << "truncated to " << n;
  }
  EXPECT_EQ(Aes256GcmOpen(key, iv, "short", "aad").status().code(), Code::kDataLoss);
}

// Values computed independently with Python:
//   enc = len(fields).to_bytes(4,'big') + b''.join(b'\0' if f is None else
//         b'\1' + len(f).to_bytes(4,'big') + f for f in fields)
//   sha256(b"plinth/audit-chain/v1\0" + prev + enc).hexdigest()
TEST(Chain, CanonicalEncodingKnownAnswer) {
  EXPECT_EQ(HexEncode(CanonicalEncodeList({"users", std::nullopt, "", "42"})),
            "000000040100000005757365727300010000000001000000023432");
  std::vector<std::optional<std::string>> row = {"users", std::nullopt, "", "42"};
  EXPECT_EQ(CanonicalEncode(row), CanonicalEncodeList({"users", std::nullopt, "", "42"}));
}

TEST(Chain, CanonicalEncodingIsUnambiguous) {
  EXPECT_NE(CanonicalEncodeList({"ab", "c"}), CanonicalEncodeList({"a", "bc"}));
  EXPECT_NE(CanonicalEncodeList({std::nullopt}), CanonicalEncodeList({""}));
  EXPECT_NE(CanonicalEncodeList({}), CanonicalEncodeList({""}));
  EXPECT_NE(CanonicalEncodeList({"a", ""}), CanonicalEncodeList({"a"}));
  EXPECT_NE(CanonicalEncodeList({std::string_view("a\0", 2)}), CanonicalEncodeList({"a", ""}));
}

TEST(Chain, ChainHashKnownAnswers) {
  Sha256Digest h1 = ChainHash(kChainGenesis, CanonicalEncodeList({"users", std::nullopt, "", "42"}));
  EXPECT_EQ(HexEncode(h1), "d96e3faaf9142f3d1a48211a2667713451b330fe8b433db8fb6cba582a6db0b3");
  Sha256Digest h2 = ChainHash(h1, CanonicalEncodeList({"second"}));
  EXPECT_EQ(HexEncode(h2), "9a2d121032f13066a36cb29ed146e10d13dacdce32a0ec07343ce76a67ccd6f1");
}

TEST(Chain, ChangingAnyEarlierRowChangesEveryLaterLink) {
  std::vector<std::string> rows = {"r1", "r2", "r3", "r4"};
  auto chain = [](const std::vector<std::string>& rs) {
    std::vector<Sha256Digest> out;
    Sha256Digest prev = kChainGenesis;
    for (const auto& r : rs) {
      prev = ChainHash(prev, CanonicalEncodeList({r}));
      out.push_back(prev);
    }
    return out;
  };
  auto base = chain(rows);
  for (std::size_t changed = 0; changed < rows.size(); ++changed) {
    auto edited = rows;
    edited[changed] += "x";
    auto other = chain(edited);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i < changed) {
        EXPECT_EQ(other[i], base[i]);
      } else {
        EXPECT_NE(other[i], base[i]) << "row " << changed << " edit not reflected at " << i;
      }
    }
  }
  // Reordering two rows changes the head.
  auto swapped = rows;
  std::swap(swapped[1], swapped[2]);
  EXPECT_NE(chain(swapped).back(), base.back());
}

}  // namespace
}  // namespace plinth::crypto
