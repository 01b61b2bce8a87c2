// Migration files: writing, strict reading, checksums, the migration directory, versions.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include "common/strings.h"
#include "migrate_core/op_json.h"
#include "plinth/migrate.h"

namespace plinth::migrate {

using internal::Json;

namespace {

// The file format this code writes and reads ("plinth_migration": 1).
constexpr int kFormatVersion = 1;
constexpr size_t kVersionWidth = 4;
constexpr size_t kMaxSlugLength = 50;
constexpr int kIndent = 2;

Json OpList(const std::vector<Op>& ops, bool with_notes) {
  Json a = Json::array();
  for (const Op& op : ops) a.push_back(internal::OpToJson(op, with_notes));
  return a;
}

// A version is digits, at least four, without a superfluous leading zero, and not zero.
bool IsVersion(std::string_view v) {
  if (v.size() < kVersionWidth) return false;
  if (!std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) return false;
  if (v.size() > kVersionWidth && v[0] == '0') return false;
  return v.find_first_not_of('0') != std::string_view::npos;
}

// Orders versions numerically (they are canonical: longer means larger).
bool VersionLess(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string BaseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

}  // namespace

std::string CanonicalText(const Migration& m) {
  Json j;
  j["plinth_migration"] = kFormatVersion;
  j["version"] = m.version;
  j["parent"] = m.parent;
  j["up"] = OpList(m.up, /*with_notes=*/false);
  j["down"] = OpList(m.down, /*with_notes=*/false);
  // nlohmann::json keeps object keys sorted: the canonical order.
  return nlohmann::json::parse(j.dump()).dump();
}

std::string Checksum(const Migration& m) { return Sha256Hex(CanonicalText(m)); }

std::string ToFileText(const Migration& m) {
  Json j;
  j["plinth_migration"] = kFormatVersion;
  j["version"] = m.version;
  j["name"] = m.name;
  j["parent"] = m.parent;
  j["created_at"] = m.created_at;
  j["up"] = OpList(m.up, /*with_notes=*/true);
  j["down"] = OpList(m.down, /*with_notes=*/true);
  return j.dump(kIndent) + "\n";
}

Result<Migration> ParseMigration(std::string_view text, const std::string& path, Diagnostics& diags) {
  const size_t errors_before = diags.error_count();
  auto failed = [&]() {
    size_t n = diags.error_count() - errors_before;
    return Status(Code::kInvalidArgument,
                  path + ": " + std::to_string(n) + (n == 1 ? " problem" : " problems") + " in the migration file");
  };
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Locate the byte nlohmann stopped at.
    SourcePos pos{1, 1};
    size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++pos.line;
        pos.column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++pos.column;
      }
    }
    std::string what = e.what();
    if (size_t colon = what.find("parse error"); colon != std::string::npos) what = what.substr(colon);
    diags.Error(path, pos, "not valid JSON: " + what);
    return failed();
  }
  internal::JsonPositions positions(text);
  internal::ReadContext ctx{path, positions, diags};
  for (const auto& [dup_path, pos] : positions.duplicates()) {
    diags.Error(path, pos, "field \"" + dup_path.substr(dup_path.rfind('/') + 1) + "\" is written twice in the same object");
  }
  if (!doc.is_object()) {
    diags.Error(path, positions.Find(""), "a migration file holds a JSON object");
    return failed();
  }

  Migration m;
  m.path = path;
  auto error_at = [&](const std::string& json_path, std::string message) {
    diags.Error(path, positions.Find(json_path), std::move(message));
  };
  auto string_field = [&](const char* key, bool required) -> std::string {
    auto it = doc.find(key);
    if (it == doc.end()) {
      if (required) error_at("", std::string("missing field \"") + key + "\"");
      return "";
    }
    if (!it->is_string()) {
      error_at(std::string("/") + key, std::string("field \"") + key + "\" must be a string");
      return "";
    }
    return it->get<std::string>();
  };

  auto format = doc.find("plinth_migration");
  if (format == doc.end()) {
    error_at("", "missing field \"plinth_migration\" (the format version, 1)");
  } else if (!format->is_number_integer()) {
    error_at("/plinth_migration", "field \"plinth_migration\" must be the format version, 1");
  } else if (format->get<int64_t>() != kFormatVersion) {
    error_at("/plinth_migration", "format version " + std::to_string(format->get<int64_t>()) +
                                      " is not known to this plinth (it reads 1): upgrade plinth");
  }
  m.version = string_field("version", true);
  if (doc.contains("version") && doc["version"].is_string() && !IsVersion(m.version)) {
    error_at("/version", "version \"" + m.version + "\" must be a sequence number of at least four digits, e.g. \"0001\"");
  }
  m.name = string_field("name", false);
  m.parent = string_field("parent", true);
  if (!m.parent.empty() && !IsVersion(m.parent)) {
    error_at("/parent", "parent \"" + m.parent + "\" must be the previous version, e.g. \"0001\", or \"\" for the first");
  }
  m.created_at = string_field("created_at", false);

  for (const char* list : {"up", "down"}) {
    auto it = doc.find(list);
    if (it == doc.end()) {
      error_at("", std::string("missing field \"") + list + "\" (a list of operations)");
      continue;
    }
    if (!it->is_array()) {
      error_at(std::string("/") + list, std::string("field \"") + list + "\" must be an array of operations");
      continue;
    }
    std::vector<Op>& out = std::string_view(list) == "up" ? m.up : m.down;
    for (size_t i = 0; i < it->size(); ++i) {
      std::string index = std::to_string(i);
      auto op = internal::OpFromJson((*it)[i], std::string("/") + list + "/" + index,
                                     std::string(list) + "[" + index + "]", ctx);
      if (op) out.push_back(std::move(*op));
    }
  }
  static constexpr std::string_view kKnown[] = {"plinth_migration", "version", "name", "parent",
                                                "created_at", "up", "down"};
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (std::find(std::begin(kKnown), std::end(kKnown), it.key()) == std::end(kKnown)) {
      error_at("/" + it.key(), "unknown field \"" + it.key() +
                                   "\" (expected plinth_migration, version, name, parent, created_at, up, down)");
    }
  }
  if (diags.error_count() > errors_before) return failed();
  m.checksum = Checksum(m);
  return m;
}

Result<std::vector<Migration>> LoadMigrationDir(const std::string& dir, Diagnostics& diags) {
  namespace fs = std::filesystem;
  std::vector<Migration> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  if (!fs::is_directory(dir, ec)) {
    return Status(Code::kInvalidArgument, dir + " is not a directory");
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    size_t digits = 0;
    while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
    if (digits < kVersionWidth || digits >= name.size() || name[digits] != '_' || !EndsWith(name, ".json")) continue;
    files.push_back(it->path().string());
  }
  if (ec) return Status(Code::kIoError, "cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());

  const size_t errors_before = diags.error_count();
  for (const std::string& file : files) {
    std::string text;
    if (!ReadFile(file, text)) {
      diags.Error(file, {}, "cannot read the file");
      continue;
    }
    auto m = ParseMigration(text, file, diags);
    if (!m.ok()) continue;
    std::string base = BaseName(file);
    if (base.substr(0, base.find('_')) != m->version) {
      diags.Error(file, {}, "the file holds version " + m->version + " but its name starts with " +
                                base.substr(0, base.find('_')),
                  "name the file after its version: " + FileNameFor(*m));
      continue;
    }
    out.push_back(std::move(*m));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Migration& a, const Migration& b) { return VersionLess(a.version, b.version); });

  // History must be one line: 0001, 0002, … each the child of the one before.
  for (size_t i = 0; i < out.size(); ++i) {
    const Migration& m = out[i];
    std::string file = BaseName(m.path);
    if (i + 1 < out.size() && out[i + 1].version == m.version) {
      std::string other = BaseName(out[i + 1].path);
      std::string next = NextVersion(out.back().version);
      diags.Error(out[i + 1].path, {},
                  file + " and " + other + " both have version " + m.version +
                      ": they were created in parallel (two branches)",
                  "keep one and renumber the other after the last migration: rename " + other + " to " + next +
                      other.substr(other.find('_')) + ", set its \"version\" to \"" + next + "\" and its \"parent\" to \"" +
                      out.back().version + "\", then run `plinth migrate diff` to check that its operations still "
                      "apply (they were planned without the other branch)");
      continue;
    }
    if (i > 0 && out[i - 1].version == m.version) continue;  // reported above
    std::string expected = i == 0 ? "0001" : NextVersion(out[i - 1].version);
    if (m.version != expected) {
      if (i == 0) {
        diags.Error(m.path, {}, "the first migration is " + file + ": versions start at 0001",
                    "renumber it to 0001 (file name, \"version\") with \"parent\": \"\"");
      } else {
        diags.Error(m.path, {}, "version " + expected + " is missing: " + file + " follows " + BaseName(out[i - 1].path),
                    "versions are contiguous: renumber " + file + " to " + expected + " (file name, \"version\")");
      }
      continue;
    }
    std::string expected_parent = i == 0 ? "" : out[i - 1].version;
    if (m.parent != expected_parent) {
      if (i == 0) {
        diags.Error(m.path, {}, file + " is the first migration but names parent " + m.parent,
                    "set its \"parent\" to \"\"");
      } else {
        diags.Error(m.path, {},
                    file + " has parent " + (m.parent.empty() ? "\"\"" : m.parent) + " but follows " +
                        BaseName(out[i - 1].path) + ": it was created on another branch",
                    "set its \"parent\" to \"" + expected_parent + "\" once it has been checked against " +
                        BaseName(out[i - 1].path) + " (`plinth migrate diff` replays every migration and reports "
                        "operations that no longer apply)");
      }
    }
  }
  if (diags.error_count() > errors_before) {
    size_t n = diags.error_count() - errors_before;
    return Status(Code::kInvalidArgument,
                  dir + ": " + std::to_string(n) + (n == 1 ? " problem" : " problems") + " in the migration directory");
  }
  return out;
}

std::string NextVersion(std::string_view last) {
  if (last.empty()) return "0001";
  if (!std::all_of(last.begin(), last.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return "";
  }
  // Decimal increment on the digits, so any length works.
  std::string digits(last);
  size_t i = digits.size();
  while (i > 0) {
    --i;
    if (digits[i] == '9') {
      digits[i] = '0';
      if (i == 0) digits.insert(digits.begin(), '1');
    } else {
      ++digits[i];
      break;
    }
  }
  // Canonical width: at least four digits, no superfluous leading zeros.
  size_t first = digits.find_first_not_of('0');
  std::string trimmed = first == std::string::npos ? "0" : digits.substr(first);
  if (trimmed.size() < kVersionWidth) trimmed.insert(0, kVersionWidth - trimmed.size(), '0');
  return trimmed;
}

std::string FileNameFor(const Migration& m) {
  std::string slug;
  for (char c : m.name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::isalnum(u)) {
      slug.push_back(static_cast<char>(std::tolower(u)));
    } else if (!slug.empty() && slug.back() != '_') {
      slug.push_back('_');
    }
  }
  if (slug.size() > kMaxSlugLength) slug.resize(kMaxSlugLength);
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  if (slug.empty()) slug = "migration";
  return m.version + "_" + slug + ".json";
}

}  // namespace plinth::migrate
