// common/strings.h — small string and hashing helpers shared by the layers (internal).
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace plinth {

std::string ToLower(std::string_view s);
std::string Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Lower-case hex of bytes.
std::string HexEncode(std::string_view bytes);
// SHA-256 of `data` as 64 lower-case hex digits (OpenSSL).
std::string Sha256Hex(std::string_view data);
// Raw 32-byte SHA-256.
std::string Sha256(std::string_view data);

// Reads a whole file; false when it cannot be read (errno kept).
bool ReadFile(const std::string& path, std::string& out);
// Writes atomically: to path.tmp, fsync, rename. False on failure.
bool WriteFileAtomic(const std::string& path, std::string_view data);

}  // namespace plinth
