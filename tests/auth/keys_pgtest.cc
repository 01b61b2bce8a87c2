// Encrypted columns on PostgreSQL (cases in keys_cases.h).
#include "auth/keys_cases.h"

PLINTH_KEYS_TESTS(KeysPg, "postgresql")
