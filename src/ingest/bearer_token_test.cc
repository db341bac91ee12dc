#include "ingest/bearer_token.h"

#include "gtest/gtest.h"

namespace teletrace::ingest {
namespace {

TEST(BearerTokenTest, AcceptsOnlyTheExactTokenUnderTheBearerScheme) {
  EXPECT_TRUE(BearerTokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(BearerTokenMatches("bearer s3cret", "s3cret"));    // scheme is case-insensitive
  EXPECT_TRUE(BearerTokenMatches("BEARER   s3cret ", "s3cret"));  // extra spaces
  EXPECT_FALSE(BearerTokenMatches("Bearer S3cret", "s3cret"));   // the token is not
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer s3crets3cret", "s3cret"));  // cycled comparison
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cret2", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearers3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));  // an empty expected token never matches
}

}  // namespace
}  // namespace teletrace::ingest
