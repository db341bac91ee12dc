// libprotobuf writes one stderr line per problem it meets while parsing (for example "String field
// ... contains invalid UTF-8 data"), so a client repeating a bad request can flood the log.
// InstallProtobufLogThrottle() routes those lines into spdlog through a LogThrottle: at most one
// line per protobuf source location per 10 s, with the count of lines left out.
#pragma once

namespace teletrace::ingest {

// Replaces libprotobuf's log handler. Call once at start-up, before any thread parses protobuf
// (protobuf's SetLogHandler is not thread safe). FATAL messages are logged as critical
// (libprotobuf aborts after them, as before).
void InstallProtobufLogThrottle();

}  // namespace teletrace::ingest
