// Random (version 4, RFC 4122) UUIDs in their canonical lowercase text form, e.g. a store's
// system id: "f47ac10b-58cc-4372-a567-0e02b2c3d479". Thread safe.
#pragma once

#include <string>

namespace teletrace {

std::string NewUuidV4();

}  // namespace teletrace
