#include "server/probe.h"

#include "gtest/gtest.h"

namespace teletrace::server {
namespace {

TEST(ProbeTest, UrlProbesAnyAddressOnLoopbackAndFollowsTls) {
  Config config;
  config.http_port = 9090;
  config.host = "0.0.0.0";
  EXPECT_EQ(ProbeUrl(config), "http://127.0.0.1:9090/readyz");
  config.host = "::";
  EXPECT_EQ(ProbeUrl(config), "http://[::1]:9090/readyz");
  config.host = "";
  EXPECT_EQ(ProbeUrl(config), "http://127.0.0.1:9090/readyz");
  config.host = "10.1.2.3";
  EXPECT_EQ(ProbeUrl(config), "http://10.1.2.3:9090/readyz");
  config.host = "fd00::7";
  config.tls_cert_file = "/etc/teletrace/cert.pem";
  EXPECT_EQ(ProbeUrl(config), "https://[fd00::7]:9090/readyz");
}

TEST(ProbeTest, NothingListeningIsNotReady) {
  Config config;
  config.host = "127.0.0.1";
  config.http_port = 1;  // privileged and unused: the connection is refused
  EXPECT_EQ(ProbeReadiness(config, 2000), 1);
}

}  // namespace
}  // namespace teletrace::server
