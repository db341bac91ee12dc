// The socket-free part of reading an HTTP request: target splitting and percent-decoding, the
// Transfer-Encoding rules, Accept-Encoding, and bounded gzip/deflate inflation. The HTTP server
// (http_server.cc) calls these on every request; keeping them apart lets the request fuzzer
// (http_request_fuzzer.cc) drive them with Beast's parser, without sockets.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace teletrace {

// zlib counts in uInt: large buffers go through it in pieces of at most this.
inline constexpr size_t kZlibChunkBytes = size_t{1} << 30;

std::string AsciiLower(std::string_view s);
std::string_view TrimSpaces(std::string_view s);  // spaces and tabs at both ends

// Decodes %XX escapes; a malformed escape is kept as written (routing then fails on it visibly).
std::string PercentDecode(std::string_view s);

// Splits an origin-form ("/a?b") or absolute-form ("http://h/a?b") target into the percent-decoded
// path and the raw query.
void SplitTarget(std::string_view target, std::string* path, std::string* query);

// True when an Accept-Encoding value admits gzip (a listed `gzip` or `x-gzip` without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

// A request refused before its handler: the HTTP status and the message for the client.
struct RequestRefusal {
  int status = 0;
  std::string message;
};

// RFC 9112 §6.1 and §6.3: the only transfer coding accepted is a lone `chunked`; anything else
// would leave the body's end to guesswork, and a body taken for a next request is request
// smuggling. `codings` is the Transfer-Encoding field values joined with ", " (as received).
// nullopt when the framing is acceptable; else 400 (HTTP/1.0, Content-Length as well, chunked not
// last) or 501 (a coding we do not implement).
std::optional<RequestRefusal> CheckTransferEncoding(std::string_view codings, unsigned version,
                                                    bool has_content_length);

enum class BodyCoding { kGzip, kDeflate };

// Inflates a gzip body (several concatenated members count as one body, as RFC 1952 allows) or a
// deflate body (RFC 9110's "deflate" is zlib-wrapped; raw deflate, which some clients send, is
// accepted too) into *out. nullopt on success; else 413 once more than `limit` bytes come out
// (inflation stops there: a decompression bomb costs at most `limit`), 400 for corrupt input
// (naming zlib's reason), 500 if zlib cannot start. *out is empty after a failure.
std::optional<RequestRefusal> InflateBody(std::string_view in, BodyCoding coding, size_t limit,
                                          std::string* out);

}  // namespace teletrace
