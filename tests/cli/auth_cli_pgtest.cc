// The identity commands of the `plinth` binary on PostgreSQL (cases in auth_cli_cases.h).
#include "cli/auth_cli_cases.h"

PLINTH_AUTH_CLI_TESTS(AuthCliPg, "postgresql")
