#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_service.hpp"

namespace ztp::testing {

// A metric's dimensions, as name/value pairs.
using MetricDimensions = std::vector<std::pair<std::string, std::string>>;

// Amazon CloudWatch metrics (awsJson1_0 with awsQuery-compatible errors, which is what the
// JavaScript SDK sends): GetMetricData over samples the test records (or PutMetricData sent),
// and PutMetricData.
//
// Samples are published per 60 s period and become visible `publish_delay` after their period
// ends, as real metrics arrive late. GetMetricData answers MetricStat queries whose Period is
// a multiple of 60 with Sum, Average, Minimum, Maximum, SampleCount or a percentile (p95,
// p99.9); a period without samples has no datapoint, and dimensions match exactly.
class CloudWatchFake final : public AwsFakeService {
 public:
  CloudWatchFake(AwsFakeEnv& env, std::chrono::milliseconds publish_delay);

  const std::map<std::string, std::vector<std::string>>& operations() const override;
  AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                   const AwsCaller& caller) override;

  // Adds one sample of a metric taken at `time`.
  void record(const std::string& name_space, const std::string& metric, MetricDimensions dimensions,
              WallTime time, double value);
  // What an application load balancer publishes for one request at `time`, under the
  // dimensions {LoadBalancer} and {LoadBalancer, TargetGroup}: RequestCount,
  // HTTPCode_Target_5XX_Count (a 5xx from the target), HTTPCode_ELB_5XX_Count (when
  // `elb_error`: the balancer answered 5xx itself) and TargetResponseTime (seconds, when a
  // target answered).
  void record_alb_request(const std::string& load_balancer, const std::string& target_group,
                          WallTime time, int status, double response_seconds, bool elb_error);

 private:
  struct Key {
    std::string name_space{};
    std::string metric{};
    MetricDimensions dimensions{};  // sorted by name
    auto operator<=>(const Key&) const = default;
  };

  AwsAnswer get_metric_data(const nlohmann::json& in);
  AwsAnswer put_metric_data(const nlohmann::json& in);

  AwsFakeEnv& m_env;
  std::chrono::milliseconds m_publish_delay;
  std::map<Key, std::vector<std::pair<WallTime, double>>> m_samples;
};

}  // namespace ztp::testing
