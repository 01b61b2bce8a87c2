// crypto/sodium_init.h — one-time libsodium initialisation (internal).
//
// Thread-safety: EnsureSodium may be called from any thread; the first call initialises.
#pragma once

namespace plinth::crypto::internal {

// Initialises libsodium once per process; aborts if the kernel CSPRNG is unusable.
void EnsureSodium();

}  // namespace plinth::crypto::internal
