// The request-path Authenticator on PostgreSQL as the runtime role (cases in authn_cases.h).
#include "auth/authn_cases.h"

PLINTH_AUTHN_TESTS(AuthnPg, "postgresql")
