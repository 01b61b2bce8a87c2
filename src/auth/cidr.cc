// CIDR allow-lists of API keys (IPv4 and IPv6, inet_pton).
#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "plinth/auth.h"

namespace plinth::auth {
namespace {

// Parses an address into 16 bytes; IPv4 is kept in the first 4 bytes with v6 = false.
bool ParseAddress(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out) {
  if (text.empty() || text.size() > 64) return false;
  std::string s(text);
  // An IPv6 zone id (fe80::1%eth0) is not part of the address.
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);
  out.fill(0);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    v6 = false;
    std::memcpy(out.data(), &a4, 4);
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    // IPv4-mapped ::ffff:a.b.c.d is treated as the IPv4 address.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.data(), kMapped, 12) == 0) {
      std::array<std::uint8_t, 16> v4{};
      std::memcpy(v4.data(), out.data() + 12, 4);
      out = v4;
      v6 = false;
      return true;
    }
    v6 = true;
    return true;
  }
  return false;
}

bool PrefixEqual(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

Result<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  std::string_view addr = text;
  std::optional<int> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int value = -1;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || (p.size() > 1 && p[0] == '0')) {
      return Status(Code::kInvalidArgument, "'" + std::string(text) + "' is not a CIDR: the prefix length after '/' must be a number");
    }
    prefix = value;
  }
  if (!ParseAddress(addr, c.v6, c.addr)) {
    return Status(Code::kInvalidArgument,
                  "'" + std::string(text) + "' is not an IP address or CIDR (expected e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)");
  }
  const int max = c.v6 ? 128 : 32;
  c.prefix = prefix.value_or(max);
  if (c.prefix < 0 || c.prefix > max) {
    return Status(Code::kInvalidArgument, "'" + std::string(text) + "': prefix length must be 0.." + std::to_string(max));
  }
  // Host bits set below the prefix are a likely mistake (10.1.2.3/8): refuse them.
  std::array<std::uint8_t, 16> masked = c.addr;
  for (int bit = c.prefix; bit < max; ++bit) masked[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  if (masked != c.addr) {
    return Status(Code::kInvalidArgument, "'" + std::string(text) + "' has host bits set below the /" +
                                              std::to_string(c.prefix) + " prefix: write the network address");
  }
  return c;
}

bool Cidr::Contains(std::string_view ip) const {
  bool ip_v6 = false;
  std::array<std::uint8_t, 16> a{};
  if (!ParseAddress(ip, ip_v6, a)) return false;
  if (ip_v6 != v6) return false;
  return PrefixEqual(a, addr, prefix);
}

bool IpAllowed(const std::vector<Cidr>& allowed, std::string_view ip) {
  if (allowed.empty()) return true;
  for (const Cidr& c : allowed) {
    if (c.Contains(ip)) return true;
  }
  return false;
}

}  // namespace plinth::auth
