// The node's identity file: the Ed25519 seed of the local author, kept in the data directory.
//
// File format (docs/cli.md): the line "pando-identity-v1", then the 32-byte seed as 64 hex
// digits, then a newline. The file is created with mode 0600 inside a directory with mode
// 0700 and is refused if it is readable by others.
#pragma once

#include <string>

#include "core/crypto.h"
#include "core/error.h"

namespace pando {

std::string IdentityPath(const std::string& data_dir);

// Creates the data directory if needed and a new identity in it. Error: IDENTITY_EXISTS
// if there is one already (it is never overwritten), IO_ERROR.
Result<KeyPair> CreateIdentity(const std::string& data_dir);

// Loads the identity. Errors: NO_IDENTITY (run `pando init`), BAD_KEY_FILE, IO_ERROR.
Result<KeyPair> LoadIdentity(const std::string& data_dir);

}  // namespace pando
