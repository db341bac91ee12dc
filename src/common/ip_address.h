// IP addresses as text, read and written the way Go's net package does, for the formats whose
// reference implementation is Go (the OpenTelemetry Collector's Zipkin translation):
//
//   CanonicalIpAddress("2001:DB8:0:0:0:0:0:1")  -> "2001:db8::1"
//   CanonicalIpAddress("::ffff:10.0.0.1")       -> "10.0.0.1"
//   CanonicalIpAddress("db.local")              -> nullopt
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace teletrace {

// The address in net.IP.String() form: dotted quad for IPv4 and IPv4-mapped IPv6, else RFC 5952
// (lowercase, no leading zeros, the first longest run of two or more zero groups as "::").
// nullopt when `text` is not an IPv4 or IPv6 address as net.ParseIP reads it (no zones, no
// leading zeros in IPv4). Pure; thread safe.
std::optional<std::string> CanonicalIpAddress(std::string_view text);

}  // namespace teletrace
