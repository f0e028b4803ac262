#include "aws/aws_error.hpp"

#include <gtest/gtest.h>

namespace ztp::aws {
namespace {

AwsError answered(std::string code, long status) {
  AwsError e;
  e.service = "ECS";
  e.operation = "DescribeServices";
  e.iam_action = "ecs:DescribeServices";
  e.code = std::move(code);
  e.status = status;
  return e;
}

TEST(AwsErrorTest, SanitizesCodesAsTheSdksDo) {
  EXPECT_EQ(sanitize_error_code("ClusterNotFoundException"), "ClusterNotFoundException");
  EXPECT_EQ(sanitize_error_code("com.amazonaws.ecs#ClusterNotFoundException"),
            "ClusterNotFoundException");
  EXPECT_EQ(sanitize_error_code("FooError:http://internal.amazon.com/coral/com.amazon.coral/"),
            "FooError");
  EXPECT_EQ(sanitize_error_code("aws.protocoltests.restjson#FooError:http://internal/x#y"),
            "FooError");
  EXPECT_EQ(sanitize_error_code("Throttling,ThrottlingException"), "Throttling");
  EXPECT_EQ(sanitize_error_code("  ValidationException "), "ValidationException");
  EXPECT_EQ(sanitize_error_code(""), "");
}

TEST(AwsErrorTest, RequestIdFromAnyOfTheHeaders) {
  EXPECT_EQ(request_id_header({{"X-Amzn-RequestId", "a"}, {"x-amz-request-id", "b"}}), "a");
  EXPECT_EQ(request_id_header({{"x-amz-request-id", "b"}, {"x-amzn-request-id", "c"}}), "c");
  EXPECT_EQ(request_id_header({{"X-AMZ-REQUEST-ID", "b"}}), "b");
  EXPECT_EQ(request_id_header({{"x-amzn-RequestId", ""}}), "");
  EXPECT_EQ(request_id_header({}), "");
}

TEST(AwsErrorTest, MapsCodesToErrorClasses) {
  struct Case {
    const char* code;
    long status;
    Errc want;
  };
  const Case cases[] = {
      {"ThrottlingException", 400, Errc::unavailable},
      {"Throttling", 400, Errc::unavailable},
      {"TooManyRequestsException", 400, Errc::unavailable},
      {"", 429, Errc::unavailable},
      {"ServerException", 500, Errc::unavailable},
      {"ServiceUnavailable", 503, Errc::unavailable},
      {"", 0, Errc::unavailable},
      {"ClusterNotFoundException", 400, Errc::not_found},
      {"TargetGroupNotFound", 400, Errc::not_found},
      {"RepositoryNotFoundException", 400, Errc::not_found},
      {"ResourceNotFoundException", 400, Errc::not_found},
      {"AccessDeniedException", 400, Errc::refused},
      {"AccessDenied", 403, Errc::refused},
      {"UnauthorizedOperation", 403, Errc::refused},
      {"UnrecognizedClientException", 400, Errc::refused},
      {"InvalidClientTokenId", 403, Errc::refused},
      {"ExpiredToken", 400, Errc::refused},
      {"ExpiredTokenException", 400, Errc::refused},
      {"SignatureDoesNotMatch", 403, Errc::refused},
      {"ValidationException", 400, Errc::invalid},
      {"ValidationError", 400, Errc::invalid},
      {"InvalidParameterException", 400, Errc::invalid},
      {"InvalidParameterValue", 400, Errc::invalid},
      {"ClientException", 400, Errc::invalid},
      {"RepositoryAlreadyExistsException", 400, Errc::conflict},
      {"ResourceInUse", 400, Errc::conflict},
      {"DuplicateTargetGroupName", 400, Errc::conflict},
      {"ConcurrentModificationException", 400, Errc::conflict},
      {"ServiceNotActiveException", 400, Errc::conflict},
      {"SomethingElse", 400, Errc::invalid},
      {"", 403, Errc::refused},
      {"", 404, Errc::not_found},
      {"", 409, Errc::conflict},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errc_name(errc_for(answered(c.code, c.status))), errc_name(c.want))
        << c.code << " " << c.status;
  }
  EXPECT_TRUE(is_throttling(answered("LimitExceededException", 400)));
  EXPECT_FALSE(is_throttling(answered("ValidationException", 400)));
}

TEST(AwsErrorTest, MessageNamesEverything) {
  AwsError e = answered("ClusterNotFoundException", 400);
  e.message = "Cluster not found.";
  e.request_id = "5c2a7f10-3b1e-4d7a-9c1f-0e9b2d6f4a11";
  EXPECT_EQ(describe(e),
            "ECS DescribeServices: ClusterNotFoundException: Cluster not found. (HTTP 400, "
            "request id 5c2a7f10-3b1e-4d7a-9c1f-0e9b2d6f4a11)");
  Error as_error = to_error(e);
  EXPECT_EQ(as_error.code, Errc::not_found);
  EXPECT_EQ(as_error.message, describe(e));

  e.request_id.clear();
  e.attempts = 3;
  e.code = "ThrottlingException";
  e.message = "Rate exceeded";
  EXPECT_EQ(describe(e),
            "ECS DescribeServices: ThrottlingException: Rate exceeded (HTTP 400, no "
            "request id, after 3 attempts)");

  AwsError none;
  none.service = "ELBv2";
  none.operation = "DescribeRules";
  none.message = "connection refused";
  none.attempts = 3;
  EXPECT_EQ(describe(none),
            "ELBv2 DescribeRules: no answer: connection refused (after 3 attempts)");
}

TEST(AwsErrorTest, RefusalsHintAtCredentialsAndPolicy) {
  AwsError e = answered("AccessDeniedException", 400);
  e.message =
      "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
      "ecs:DescribeServices";
  e.request_id = "r1";
  std::string text = describe(e);
  EXPECT_NE(text.find("ECS DescribeServices: AccessDeniedException: User: "), std::string::npos);
  EXPECT_NE(text.find("(HTTP 400, request id r1)"), std::string::npos);
  EXPECT_NE(text.find("credentials"), std::string::npos);
  EXPECT_NE(text.find("IAM policy allows ecs:DescribeServices"), std::string::npos);
  // Other classes carry no such hint.
  EXPECT_EQ(describe(answered("ValidationException", 400)).find("IAM"), std::string::npos);
}

}  // namespace
}  // namespace ztp::aws
