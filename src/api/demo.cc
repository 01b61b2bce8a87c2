// The embedded default's demo credentials (ServeConfig::demo_key_file): created on the first
// start, kept in a 0600 file, reused (and not shown again) on later starts.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>

#include "api/server_internal.h"
#include "plinth/auth_admin.h"

namespace plinth::api::internal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDemoTenant = "Demo";
constexpr std::string_view kDemoEmail = "admin@demo.example";
constexpr std::string_view kDemoLogin = "admin";
constexpr std::string_view kLoopback = "127.0.0.1";

std::optional<std::string> ReadKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') return line;
  }
  return std::nullopt;
}

Status WriteKey(const std::string& path, const std::string& key) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  fs::remove(path, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return Status(Code::kIoError, "cannot create " + path + ": " + std::strerror(errno));
  const std::string text = key + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return Status(Code::kIoError, "cannot write " + path);
  return Status::Ok();
}

// The first table a demo user would call: tenant-scoped and writable, else any exposed one.
std::string DemoTable(const schema::Schema& s) {
  std::string fallback;
  for (const auto& t : s.tables) {
    if (!rest::TableExposed(t)) continue;
    if (fallback.empty()) fallback = t.name;
    if (t.options.tenant_scoped && rest::TableAcceptsInsert(t) && t.name != "users" && t.name.find("key") == std::string::npos) {
      return t.name;
    }
  }
  return fallback;
}

// Column values of the demo admin in the app's users table.
data::Fields AdminFields(const schema::Schema& s, const auth::AuthConfig& a) {
  data::Fields f;
  const schema::Table* users = s.FindTable(a.users.table);
  if (users == nullptr) return f;
  for (const std::string& login : a.users.login) {
    const bool email = login.find("mail") != std::string::npos;
    f.emplace_back(login, std::string(email ? kDemoEmail : kDemoLogin));
  }
  if (!a.users.role.empty()) {
    const schema::Column* c = users->FindColumn(a.users.role);
    std::string role = "admin";
    if (c != nullptr && c->type.kind == schema::TypeKind::kEnum) {
      const schema::Enum* e = s.FindEnum(c->type.enum_name);
      if (e != nullptr) {
        bool has_admin = false, has_owner = false;
        for (const auto& v : e->values) {
          has_admin = has_admin || v == "admin";
          has_owner = has_owner || v == "owner";
        }
        role = has_admin ? "admin" : has_owner ? "owner" : e->values.front();
      }
    }
    f.emplace_back(a.users.role, role);
  }
  if (const schema::Column* name = users->FindColumn("full_name"); name != nullptr) {
    f.emplace_back("full_name", std::string("Demo Admin"));
  }
  return f;
}

void PrintTry(std::ostream& out, const DemoInputs& in, const std::string& key_expr) {
  const std::string table = DemoTable(*in.schema);
  if (table.empty()) return;
  out << "  try:\n"
      << "    curl -H \"Authorization: Bearer " << key_expr << "\" " << in.base_url << "/api/v1/" << table << "\n";
  const schema::Table* t = in.schema->FindTable(table);
  if (t != nullptr && t->FindColumn("title") != nullptr) {
    out << "    curl -H \"Authorization: Bearer " << key_expr << "\" -H 'Content-Type: application/json' -d "
        << "'{\"title\":\"hello\"}' " << in.base_url << "/api/v1/" << table << "\n";
  }
}

}  // namespace

Status RunDemo(const DemoInputs& in, std::ostream& out) {
  const std::string& path = in.config->demo_key_file;
  if (!in.auth->present || !in.auth->api_keys || in.authenticator == nullptr) {
    out << "demo: app " << in.schema->app.name << " has no API keys ([auth.api_keys]) or auth is off: no demo key\n";
    return Status::Ok();
  }
  if (std::optional<std::string> key = ReadKey(path)) {
    auto ok = RunSync(*in.io, in.authenticator->AuthenticateApiKey(*key, kLoopback));
    if (ok.ok()) {
      out << "demo: reusing the demo API key kept in " << path << " (tenant " << ok->principal.tenant_id
          << "; not shown again)\n";
      PrintTry(out, in, "$(cat " + path + ")");
      return Status::Ok();
    }
    out << "demo: the key in " << path << " no longer works (" << ok.status().message()
        << "; was the database reset?): creating a new demo tenant\n";
  }
  const db::Url* url_ptr = nullptr;
  auto url = db::ParseUrl(in.config->admin_database_url.empty() ? in.config->database_url : in.config->admin_database_url);
  if (!url.ok()) return url.status();
  url_ptr = &*url;
  PLINTH_ASSIGN_OR_RETURN(auto conn, db::Connect(*url_ptr));
  PLINTH_ASSIGN_OR_RETURN(std::string tenant, auth::CreateTenant(*conn, *in.schema, kDemoTenant));

  data::Principal system;
  system.kind = data::Principal::Kind::kSystem;
  system.tenant_id = tenant;
  system.role = "admin";
  system.roles = {"admin"};
  system.credential_id = "plinth-serve-demo";
  data::RequestInfo info;
  info.request_id = "demo-bootstrap";
  info.ip = std::string(kLoopback);
  info.user_agent = "plinth serve";
  info.deadline = db::Clock::now() + std::chrono::seconds(30);
  auto admin = RunSync(*in.io, in.runtime->Insert(system, info, in.auth->users.table, AdminFields(*in.schema, *in.auth)));
  if (!admin.ok()) return admin.status().WithContext("creating the demo admin user");
  std::string user_id;
  for (size_t i = 0; i < admin->columns.size(); ++i) {
    if (admin->columns[i]->name == in.auth->users.id && admin->rows[0][i]) user_id = *admin->rows[0][i];
  }
  auth::ApiKeySpec spec;
  spec.tenant_id = tenant;
  spec.user_id = user_id;
  spec.name = "demo key";
  PLINTH_ASSIGN_OR_RETURN(auth::CreatedApiKey key, auth::CreateApiKey(*conn, *in.schema, *in.auth, *in.hasher, spec));
  PLINTH_RETURN_IF_ERROR(WriteKey(path, key.key));
  out << "demo: created tenant \"" << kDemoTenant << "\" (" << tenant << "), admin user " << user_id
      << " and an API key.\n"
      << "  API key (shown once; kept in " << path << ", mode 0600):\n"
      << "    " << key.key << "\n";
  PrintTry(out, in, key.key);
  return Status::Ok();
}

}  // namespace plinth::api::internal
