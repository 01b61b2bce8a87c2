// Encrypted columns on SQLite (cases in keys_cases.h).
#include "auth/keys_cases.h"

PLINTH_KEYS_TESTS(KeysSqlite, "sqlite")
