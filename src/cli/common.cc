// The global options' helpers: inputs resolved with actionable errors, output, tables.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/cli.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;

constexpr double kMillisPerSecond = 1000.0;

// Display width of UTF-8 text: one per character (continuation bytes do not count).
size_t Width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Where(const GlobalOptions& g) {
  return g.app_dir.empty() ? "the working directory (" + fs::current_path().string() + ")" : g.app_dir;
}

}  // namespace

Result<db::Url> GlobalOptions::Url() const {
  if (database_url.empty()) {
    return Status(Code::kInvalidArgument,
                  "no database given: pass --database-url URL or set " + std::string(kDatabaseUrlEnv) +
                      " (sqlite:///abs/path.db, sqlite://relative.db, sqlite::memory:, postgresql://user@host/db)");
  }
  auto url = db::ParseUrl(database_url);
  if (!url.ok()) return url.status().WithContext("--database-url / " + std::string(kDatabaseUrlEnv));
  return url;
}

std::string GlobalOptions::AppDir() const { return app_dir.empty() ? std::string(".") : app_dir; }

std::string GlobalOptions::SchemaPath() const { return (fs::path(AppDir()) / kSchemaFile).string(); }

std::string GlobalOptions::MigrationsPath() const { return (fs::path(AppDir()) / kMigrationsDir).string(); }

Result<schema::Schema> GlobalOptions::LoadSchema() const {
  const std::string path = SchemaPath();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (!app_dir.empty() && !fs::is_directory(app_dir, ec)) {
      return Status(Code::kNotFound, "the app directory " + app_dir + " does not exist (--app / " +
                                         std::string(kAppEnv) + ")");
    }
    return Status(Code::kNotFound, "no " + std::string(kSchemaFile) + " in " + Where(*this) +
                                       ": pass --app DIR or set " + std::string(kAppEnv) +
                                       " to the directory that holds schema.toml and migrations/");
  }
  Diagnostics diags;
  auto loaded = schema::LoadSchemaFile(path, diags);
  if (!diags.empty()) std::cerr << diags.ToString() << std::flush;
  return loaded;
}

Result<std::vector<migrate::Migration>> GlobalOptions::LoadMigrations() const {
  const std::string dir = MigrationsPath();
  std::error_code ec;
  if (!app_dir.empty() && !fs::is_directory(app_dir, ec)) {
    return Status(Code::kNotFound,
                  "the app directory " + app_dir + " does not exist (--app / " + std::string(kAppEnv) + ")");
  }
  Diagnostics diags;
  auto loaded = migrate::LoadMigrationDir(dir, diags);
  if (!diags.empty()) std::cerr << diags.ToString() << std::flush;
  if (!loaded.ok()) return loaded.status().WithContext("cannot read " + dir);
  return loaded;
}

runner::RunOptions GlobalOptions::BaseRunOptions() const {
  runner::RunOptions opts;
  opts.progress = [this](const std::string& line) { Info(line); };
  return opts;
}

void GlobalOptions::Info(std::string_view line) const {
  if (quiet) return;
  std::cout << line << '\n' << std::flush;
}

void GlobalOptions::Print(std::string_view text) const {
  std::cout << text;
  if (!text.empty() && text.back() != '\n') std::cout << '\n';
  std::cout << std::flush;
}

void GlobalOptions::Warn(std::string_view line) const { std::cerr << "warning: " << line << '\n' << std::flush; }

int GlobalOptions::Fail(const Status& status, int exit) const { return Fail(status.message(), exit); }

int GlobalOptions::Fail(std::string_view message, int exit) const {
  std::cout << std::flush;
  std::cerr << "error: " << message << '\n' << std::flush;
  return exit;
}

void AddLockTimeout(CLI::App* cmd, double& seconds) {
  cmd->add_option("--lock-timeout", seconds,
                  "seconds to wait for the migration lock (PostgreSQL advisory lock; SQLite busy timeout)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

std::chrono::milliseconds Seconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * kMillisPerSecond)));
}

std::string FormatTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += cell;
      if (i + 1 < widths.size()) out += std::string(widths[i] - Width(cell) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  out += line(rule);
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace plinth::cli
