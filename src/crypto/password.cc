// Password hashing (password.h): Argon2id through libargon2's raw interface, PHC strings encoded
// and parsed here, PBKDF2 verification through OpenSSL.
#include "plinth/password.h"

#include <argon2.h>

#include <array>
#include <charconv>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "crypto/encoding.h"
#include "plinth/crypto.h"

namespace plinth::crypto {
namespace {

constexpr std::string_view kArgon2idPrefix = "$argon2id$";
constexpr std::string_view kDjangoPrefix = "pbkdf2_sha256$";
constexpr std::string_view kPasslibPrefix = "$pbkdf2-sha256$";
constexpr std::string_view kWerkzeugPrefix = "pbkdf2:sha256:";
constexpr std::uint32_t kArgon2Version13 = ARGON2_VERSION_13;  // 0x13
constexpr std::uint32_t kArgon2Version10 = ARGON2_VERSION_10;  // 0x10
constexpr std::size_t kMinPhcSaltBytes = ARGON2_MIN_SALT_LENGTH;  // 8
constexpr std::size_t kMinPhcTagBytes = ARGON2_MIN_OUTLEN;        // 4
constexpr std::size_t kMaxPhcFieldBytes = 1024;
constexpr std::uint32_t kMinParamSaltBytes = 16;
constexpr std::uint32_t kMinParamTagBytes = 16;
constexpr std::uint32_t kMaxParamSaltBytes = 64;
constexpr std::uint32_t kMaxParamTagBytes = 64;
constexpr std::size_t kMaxPbkdf2KeyBytes = 1024;

Status Invalid(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }

Status CheckPasswordLength(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return Invalid(fmt::format("password is longer than {} bytes", kMaxPasswordBytes));
  }
  return Status::Ok();
}

// Decimal without sign or leading zeros, fitting in uint32.
bool ParseDecimal(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + std::uint64_t(c - '0');
  }
  if (v > std::numeric_limits<std::uint32_t>::max()) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

std::vector<std::string_view> SplitDollar(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find('$', start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Raw Argon2id tag of `tag_bytes` bytes.
Result<std::string> Argon2idRaw(std::string_view password, std::string_view salt, std::uint32_t version,
                                std::uint32_t m, std::uint32_t t, std::uint32_t p, std::size_t tag_bytes) {
  std::string tag(tag_bytes, '\0');
  argon2_context ctx{};
  ctx.out = reinterpret_cast<std::uint8_t*>(tag.data());
  ctx.outlen = static_cast<std::uint32_t>(tag.size());
  // libargon2 only reads the password and salt (the CLEAR_PASSWORD flag is not set).
  static std::uint8_t empty = 0;
  ctx.pwd = password.empty() ? &empty
                             : reinterpret_cast<std::uint8_t*>(const_cast<char*>(password.data()));
  ctx.pwdlen = static_cast<std::uint32_t>(password.size());
  ctx.salt = reinterpret_cast<std::uint8_t*>(const_cast<char*>(salt.data()));
  ctx.saltlen = static_cast<std::uint32_t>(salt.size());
  ctx.t_cost = t;
  ctx.m_cost = m;
  ctx.lanes = p;
  ctx.threads = p;
  ctx.version = version;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  int rc = argon2_ctx(&ctx, Argon2_id);
  if (rc != ARGON2_OK) {
    return Status(rc == ARGON2_MEMORY_ALLOCATION_ERROR ? Code::kUnavailable : Code::kInternal,
                  fmt::format("Argon2id failed: {}", argon2_error_message(rc)));
  }
  return tag;
}

std::string EncodePhc(std::uint32_t m, std::uint32_t t, std::uint32_t p, std::string_view salt,
                      std::string_view tag) {
  return fmt::format("$argon2id$v=19$m={},t={},p={}${}${}", m, t, p,
                     internal::Base64EncodeWith(salt, internal::kBase64StdNoPad),
                     internal::Base64EncodeWith(tag, internal::kBase64StdNoPad));
}

// "key=value" with the expected key.
bool ParseParam(std::string_view part, std::string_view key, std::uint32_t& out) {
  if (part.size() <= key.size() + 1 || part.substr(0, key.size()) != key || part[key.size()] != '=') {
    return false;
  }
  return ParseDecimal(part.substr(key.size() + 1), out);
}

Result<bool> VerifyArgon2id(std::string_view password, std::string_view stored) {
  PLINTH_ASSIGN_OR_RETURN(Argon2idPhc phc, ParseArgon2idPhc(stored));
  PLINTH_ASSIGN_OR_RETURN(std::string tag, Argon2idRaw(password, phc.salt, phc.version, phc.memory_kib,
                                                       phc.iterations, phc.parallelism, phc.tag.size()));
  bool match = ConstantTimeEquals(tag, phc.tag);
  SecureWipe(tag);
  return match;
}

struct Pbkdf2Hash {
  std::uint32_t iterations = 0;
  std::string salt;
  std::string key;
};

Status CheckPbkdf2(const Pbkdf2Hash& h, std::string_view format) {
  if (h.iterations == 0 || h.iterations > kMaxPbkdf2Iterations) {
    return Invalid(fmt::format("{} hash: iteration count {} is outside 1..{}", format, h.iterations,
                               kMaxPbkdf2Iterations));
  }
  if (h.key.empty() || h.key.size() > kMaxPbkdf2KeyBytes) {
    return Invalid(fmt::format("{} hash: derived key of {} bytes is outside 1..{}", format, h.key.size(),
                               kMaxPbkdf2KeyBytes));
  }
  return Status::Ok();
}

Result<Pbkdf2Hash> ParseDjango(std::string_view stored) {
  auto parts = SplitDollar(stored);  // pbkdf2_sha256, iter, salt, hash
  constexpr std::string_view kFormat = "Django pbkdf2_sha256";
  if (parts.size() != 4) return Invalid(fmt::format("{} hash: expected 4 '$'-separated fields", kFormat));
  Pbkdf2Hash h;
  if (!ParseDecimal(parts[1], h.iterations)) return Invalid(fmt::format("{} hash: bad iteration count", kFormat));
  if (parts[2].empty()) return Invalid(fmt::format("{} hash: empty salt", kFormat));
  h.salt = std::string(parts[2]);
  auto key = Base64Decode(parts[3]);
  if (!key.ok()) return Invalid(fmt::format("{} hash: derived key is not padded base64", kFormat));
  h.key = std::move(key).value();
  PLINTH_RETURN_IF_ERROR(CheckPbkdf2(h, kFormat));
  return h;
}

Result<Pbkdf2Hash> ParsePasslib(std::string_view stored) {
  auto parts = SplitDollar(stored);  // "", pbkdf2-sha256, rounds, salt, checksum
  constexpr std::string_view kFormat = "passlib pbkdf2-sha256";
  if (parts.size() != 5) return Invalid(fmt::format("{} hash: expected 5 '$'-separated fields", kFormat));
  Pbkdf2Hash h;
  if (!ParseDecimal(parts[2], h.iterations)) return Invalid(fmt::format("{} hash: bad rounds", kFormat));
  auto salt = internal::Base64DecodeWith(parts[3], internal::kBase64Passlib);
  if (!salt.ok()) return Invalid(fmt::format("{} hash: salt is not ab64", kFormat));
  auto key = internal::Base64DecodeWith(parts[4], internal::kBase64Passlib);
  if (!key.ok()) return Invalid(fmt::format("{} hash: checksum is not ab64", kFormat));
  h.salt = std::move(salt).value();
  h.key = std::move(key).value();
  PLINTH_RETURN_IF_ERROR(CheckPbkdf2(h, kFormat));
  return h;
}

Result<Pbkdf2Hash> ParseWerkzeug(std::string_view stored) {
  auto parts = SplitDollar(stored.substr(kWerkzeugPrefix.size()));  // iter, salt, hex
  constexpr std::string_view kFormat = "Werkzeug pbkdf2:sha256";
  if (parts.size() != 3) return Invalid(fmt::format("{} hash: expected <iterations>$<salt>$<hex>", kFormat));
  Pbkdf2Hash h;
  if (!ParseDecimal(parts[0], h.iterations)) return Invalid(fmt::format("{} hash: bad iteration count", kFormat));
  if (parts[1].empty()) return Invalid(fmt::format("{} hash: empty salt", kFormat));
  h.salt = std::string(parts[1]);
  auto key = HexDecode(parts[2]);
  if (!key.ok()) return Invalid(fmt::format("{} hash: derived key is not hex", kFormat));
  h.key = std::move(key).value();
  PLINTH_RETURN_IF_ERROR(CheckPbkdf2(h, kFormat));
  return h;
}

Result<bool> VerifyPbkdf2(std::string_view password, const Result<Pbkdf2Hash>& parsed) {
  if (!parsed.ok()) return parsed.status();
  PLINTH_ASSIGN_OR_RETURN(std::string dk, Pbkdf2HmacSha256(password, parsed->salt, parsed->iterations,
                                                            parsed->key.size()));
  bool match = ConstantTimeEquals(dk, parsed->key);
  SecureWipe(dk);
  return match;
}

}  // namespace

Status Argon2Params::Validate() const {
  if (parallelism < 1 || parallelism > kMaxVerifyParallelism) {
    return Invalid(fmt::format("argon2 parallelism (p) {} is outside 1..{}", parallelism, kMaxVerifyParallelism));
  }
  if (iterations < 1 || iterations > kMaxVerifyIterations) {
    return Invalid(fmt::format("argon2 iterations (t) {} is outside 1..{}", iterations, kMaxVerifyIterations));
  }
  if (memory_kib < 8 * parallelism || memory_kib > kMaxVerifyMemoryKib) {
    return Invalid(fmt::format("argon2 memory (m) {} KiB is outside {}..{} KiB (at least 8 KiB per lane)",
                               memory_kib, 8 * parallelism, kMaxVerifyMemoryKib));
  }
  if (salt_bytes < kMinParamSaltBytes || salt_bytes > kMaxParamSaltBytes) {
    return Invalid(fmt::format("argon2 salt length {} is outside {}..{} bytes", salt_bytes, kMinParamSaltBytes,
                               kMaxParamSaltBytes));
  }
  if (tag_bytes < kMinParamTagBytes || tag_bytes > kMaxParamTagBytes) {
    return Invalid(fmt::format("argon2 tag length {} is outside {}..{} bytes", tag_bytes, kMinParamTagBytes,
                               kMaxParamTagBytes));
  }
  return Status::Ok();
}

bool Argon2Params::MeetsOwaspMinimum() const {
  struct Row {
    std::uint32_t m, t;
  };
  static constexpr std::array<Row, 5> kOwaspTable{{{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5}}};
  for (const Row& r : kOwaspTable) {
    if (memory_kib >= r.m && iterations >= r.t) return true;
  }
  return false;
}

Result<std::string> HashPassword(std::string_view password, const Argon2Params& params) {
  PLINTH_RETURN_IF_ERROR(params.Validate());
  PLINTH_RETURN_IF_ERROR(CheckPasswordLength(password));
  std::string salt = RandomBytes(params.salt_bytes);
  PLINTH_ASSIGN_OR_RETURN(std::string tag, Argon2idRaw(password, salt, kArgon2Version13, params.memory_kib,
                                                       params.iterations, params.parallelism, params.tag_bytes));
  std::string phc = EncodePhc(params.memory_kib, params.iterations, params.parallelism, salt, tag);
  SecureWipe(tag);
  return phc;
}

std::string_view PasswordSchemeName(PasswordScheme scheme) {
  switch (scheme) {
    case PasswordScheme::kArgon2id: return "argon2id";
    case PasswordScheme::kPbkdf2Django: return "pbkdf2_sha256 (django)";
    case PasswordScheme::kPbkdf2Passlib: return "pbkdf2-sha256 (passlib)";
    case PasswordScheme::kPbkdf2Werkzeug: return "pbkdf2:sha256 (werkzeug)";
    case PasswordScheme::kUnknown: return "unknown";
  }
  return "unknown";
}

PasswordScheme DetectPasswordScheme(std::string_view stored) {
  if (stored.starts_with(kArgon2idPrefix)) return PasswordScheme::kArgon2id;
  if (stored.starts_with(kDjangoPrefix)) return PasswordScheme::kPbkdf2Django;
  if (stored.starts_with(kPasslibPrefix)) return PasswordScheme::kPbkdf2Passlib;
  if (stored.starts_with(kWerkzeugPrefix)) return PasswordScheme::kPbkdf2Werkzeug;
  return PasswordScheme::kUnknown;
}

Result<Argon2idPhc> ParseArgon2idPhc(std::string_view phc) {
  if (!phc.starts_with(kArgon2idPrefix)) return Invalid("not an Argon2id PHC string (expected \"$argon2id$\")");
  auto parts = SplitDollar(phc);
  // "", "argon2id", ["v=19"], "m=…,t=…,p=…", salt, tag
  Argon2idPhc out;
  std::size_t i = 2;
  if (parts.size() == 6) {
    std::uint32_t v = 0;
    if (!ParseParam(parts[2], "v", v) || (v != kArgon2Version13 && v != kArgon2Version10)) {
      return Invalid("Argon2id PHC string: version must be v=19 or v=16");
    }
    out.version = v;
    i = 3;
  } else if (parts.size() == 5) {
    out.version = kArgon2Version10;  // strings from before version 1.3 carry no v=
  } else {
    return Invalid("Argon2id PHC string: expected $argon2id$v=19$m=…,t=…,p=…$salt$tag");
  }
  std::string_view params = parts[i];
  std::size_t c1 = params.find(',');
  std::size_t c2 = c1 == std::string_view::npos ? c1 : params.find(',', c1 + 1);
  if (c2 == std::string_view::npos || params.find(',', c2 + 1) != std::string_view::npos ||
      !ParseParam(params.substr(0, c1), "m", out.memory_kib) ||
      !ParseParam(params.substr(c1 + 1, c2 - c1 - 1), "t", out.iterations) ||
      !ParseParam(params.substr(c2 + 1), "p", out.parallelism)) {
    return Invalid("Argon2id PHC string: parameters must be m=<KiB>,t=<passes>,p=<lanes> in that order");
  }
  if (out.parallelism < 1 || out.parallelism > kMaxVerifyParallelism) {
    return Invalid(fmt::format("Argon2id PHC string: p={} is outside 1..{}", out.parallelism, kMaxVerifyParallelism));
  }
  if (out.iterations < 1 || out.iterations > kMaxVerifyIterations) {
    return Invalid(fmt::format("Argon2id PHC string: t={} is outside 1..{}", out.iterations, kMaxVerifyIterations));
  }
  if (out.memory_kib < 8 * out.parallelism || out.memory_kib > kMaxVerifyMemoryKib) {
    return Invalid(fmt::format("Argon2id PHC string: m={} is outside {}..{} KiB", out.memory_kib,
                               8 * out.parallelism, kMaxVerifyMemoryKib));
  }
  auto salt = internal::Base64DecodeWith(parts[i + 1], internal::kBase64StdNoPad);
  if (!salt.ok()) return Invalid("Argon2id PHC string: salt is not unpadded base64");
  auto tag = internal::Base64DecodeWith(parts[i + 2], internal::kBase64StdNoPad);
  if (!tag.ok()) return Invalid("Argon2id PHC string: hash is not unpadded base64");
  out.salt = std::move(salt).value();
  out.tag = std::move(tag).value();
  if (out.salt.size() < kMinPhcSaltBytes || out.salt.size() > kMaxPhcFieldBytes) {
    return Invalid(fmt::format("Argon2id PHC string: salt of {} bytes is outside {}..{}", out.salt.size(),
                               kMinPhcSaltBytes, kMaxPhcFieldBytes));
  }
  if (out.tag.size() < kMinPhcTagBytes || out.tag.size() > kMaxPhcFieldBytes) {
    return Invalid(fmt::format("Argon2id PHC string: hash of {} bytes is outside {}..{}", out.tag.size(),
                               kMinPhcTagBytes, kMaxPhcFieldBytes));
  }
  return out;
}

Result<bool> VerifyPassword(std::string_view password, std::string_view stored) {
  PLINTH_RETURN_IF_ERROR(CheckPasswordLength(password));
  switch (DetectPasswordScheme(stored)) {
    case PasswordScheme::kArgon2id: return VerifyArgon2id(password, stored);
    case PasswordScheme::kPbkdf2Django: return VerifyPbkdf2(password, ParseDjango(stored));
    case PasswordScheme::kPbkdf2Passlib: return VerifyPbkdf2(password, ParsePasslib(stored));
    case PasswordScheme::kPbkdf2Werkzeug: return VerifyPbkdf2(password, ParseWerkzeug(stored));
    case PasswordScheme::kUnknown: break;
  }
  return Invalid(
      "stored password hash is not a supported format (expected $argon2id$…, pbkdf2_sha256$…, "
      "$pbkdf2-sha256$… or pbkdf2:sha256:…)");
}

bool NeedsRehash(std::string_view stored, const Argon2Params& params) {
  if (DetectPasswordScheme(stored) != PasswordScheme::kArgon2id) return true;
  auto phc = ParseArgon2idPhc(stored);
  if (!phc.ok()) return true;
  return phc->version != kArgon2Version13 || phc->memory_kib != params.memory_kib ||
         phc->iterations != params.iterations || phc->parallelism != params.parallelism ||
         phc->salt.size() != params.salt_bytes || phc->tag.size() != params.tag_bytes;
}

void DummyVerify(std::string_view password, const Argon2Params& params) {
  if (!CheckPasswordLength(password).ok() || !params.Validate().ok()) return;  // as VerifyPassword would
  // A fixed salt and expected tag: the work (one Argon2id evaluation with `params`, one
  // constant-time comparison) is that of a real verification; the answer is always "no".
  static const std::string kDummySalt(kMaxParamSaltBytes, '\x5a');
  static const std::string kDummyTag(kMaxParamTagBytes, '\xa5');
  auto tag = Argon2idRaw(password, std::string_view(kDummySalt).substr(0, params.salt_bytes), kArgon2Version13,
                         params.memory_kib, params.iterations, params.parallelism, params.tag_bytes);
  if (tag.ok()) {
    volatile bool sink = ConstantTimeEquals(*tag, std::string_view(kDummyTag).substr(0, params.tag_bytes));
    (void)sink;
    SecureWipe(*tag);
  }
}

}  // namespace plinth::crypto
