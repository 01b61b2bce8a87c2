// The request-path Authenticator on SQLite (cases in authn_cases.h).
#include "auth/authn_cases.h"

PLINTH_AUTHN_TESTS(AuthnSqlite, "sqlite")
