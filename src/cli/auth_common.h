// cli/auth_common.h — shared by the identity commands (tenant, apikey, seed, audit, keys): the
// schema with its [auth] section and an administrative connection.
//
// Thread-safety: used by the main thread only.
#pragma once

#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "plinth/auth.h"
#include "plinth/db.h"

namespace plinth::cli {

struct AuthApp {
  schema::Schema schema;
  auth::AuthConfig config;
  std::unique_ptr<db::Connection> conn;
};

// Loads schema.toml (and its [auth] section) and connects to the database. Prints diagnostics.
inline Result<AuthApp> OpenAuthApp(const GlobalOptions& g, bool need_db = true) {
  AuthApp a;
  PLINTH_ASSIGN_OR_RETURN(a.schema, g.LoadSchema());
  Diagnostics diags;
  auto c = auth::LoadAuthConfig(g.SchemaPath(), a.schema, diags);
  if (!diags.empty()) std::cerr << diags.ToString() << std::flush;
  if (!c.ok()) return c.status();
  a.config = std::move(c).value();
  if (need_db) {
    PLINTH_ASSIGN_OR_RETURN(db::Url url, g.Url());
    PLINTH_ASSIGN_OR_RETURN(a.conn, db::Connect(url));
  }
  return a;
}

}  // namespace plinth::cli
