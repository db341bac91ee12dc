// Checks an `Authorization: Bearer <token>` value (RFC 6750) against the configured token. Shared
// by the OTLP receivers (gRPC metadata and HTTP header), so both accept exactly the same values.
#pragma once

#include <string_view>

namespace teletrace::ingest {

// True when `authorization` is "Bearer <token>" (scheme case-insensitive, one or more spaces) and
// the token equals `expected`. The comparison takes time that depends only on the length of the
// presented token, never on how much of it matches, so the token cannot be guessed byte by byte
// from response times. `expected` must not be empty (an empty token means "no authentication",
// decided by the caller).
bool BearerTokenMatches(std::string_view authorization, std::string_view expected);

}  // namespace teletrace::ingest
