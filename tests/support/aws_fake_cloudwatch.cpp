#include "support/aws_fake_cloudwatch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <regex>

namespace ztp::testing {

namespace {

AwsError invalid_value(std::string message) {
  return AwsError{"InvalidParameterValueException", std::move(message), 400,
                  "InvalidParameterValue"};
}

MetricDimensions sorted(MetricDimensions d) {
  std::sort(d.begin(), d.end());
  return d;
}

MetricDimensions dimensions_of(const nlohmann::json& in) {
  MetricDimensions out;
  for (const auto& d : list(in, "Dimensions")) {
    out.emplace_back(str(d, "Name"), str(d, "Value"));
  }
  return sorted(out);
}

// The statistic `stat` of `values` (not empty), or nullopt when `stat` is not one.
std::optional<double> statistic(const std::string& stat, std::vector<double> values) {
  if (stat == "Sum" || stat == "Average") {
    double sum = 0;
    for (double v : values) {
      sum += v;
    }
    return stat == "Sum" ? sum : sum / static_cast<double>(values.size());
  }
  if (stat == "Minimum") {
    return *std::min_element(values.begin(), values.end());
  }
  if (stat == "Maximum") {
    return *std::max_element(values.begin(), values.end());
  }
  if (stat == "SampleCount") {
    return static_cast<double>(values.size());
  }
  std::smatch m;
  if (std::regex_match(stat, m, std::regex("p([0-9]{1,2}(\\.[0-9]+)?|100)"))) {
    // Nearest rank.
    std::sort(values.begin(), values.end());
    double p = std::stod(m[1].str());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
  }
  return std::nullopt;
}

}  // namespace

CloudWatchFake::CloudWatchFake(AwsFakeEnv& env, std::chrono::milliseconds publish_delay)
    : m_env(env), m_publish_delay(publish_delay) {}

const std::map<std::string, std::vector<std::string>>& CloudWatchFake::operations() const {
  static const std::map<std::string, std::vector<std::string>> k_operations = {
      {"GetMetricData", {"MetricDataQueries", "StartTime", "EndTime"}},
      {"PutMetricData", {"Namespace"}},
  };
  return k_operations;
}

AwsAnswer CloudWatchFake::handle(const std::string& operation, const nlohmann::json& in,
                                 const AwsCaller&) {
  return operation == "GetMetricData" ? get_metric_data(in) : put_metric_data(in);
}

void CloudWatchFake::record(const std::string& name_space, const std::string& metric,
                            MetricDimensions dimensions, WallTime time, double value) {
  m_samples[Key{name_space, metric, sorted(std::move(dimensions))}].emplace_back(time, value);
}

void CloudWatchFake::record_alb_request(const std::string& load_balancer,
                                        const std::string& target_group, WallTime time, int status,
                                        double response_seconds, bool elb_error) {
  for (MetricDimensions dims :
       {MetricDimensions{{"LoadBalancer", load_balancer}},
        MetricDimensions{{"LoadBalancer", load_balancer}, {"TargetGroup", target_group}}}) {
    record("AWS/ApplicationELB", "RequestCount", dims, time, 1);
    if (elb_error) {
      record("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", dims, time, 1);
      continue;
    }
    if (status >= 500 && status < 600) {
      record("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, time, 1);
    }
    record("AWS/ApplicationELB", "TargetResponseTime", dims, time, response_seconds);
  }
}

AwsAnswer CloudWatchFake::get_metric_data(const nlohmann::json& in) {
  double start = number(in.at("StartTime"));
  double end = number(in.at("EndTime"));
  if (start >= end) {
    return invalid_value("The parameter StartTime must be less than the parameter EndTime.");
  }
  bool ascending = str(in, "ScanBy", "TimestampDescending") == "TimestampAscending";
  auto queries = list(in, "MetricDataQueries");
  if (queries.empty() || queries.size() > 500) {
    return invalid_value("The collection MetricDataQueries must not be empty.");
  }
  auto visible_before = m_env.now - m_publish_delay;
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    std::string where = fmt::format("MetricDataQueries.member.{}", i + 1);
    std::string id = str(q, "Id");
    if (!std::regex_match(id, std::regex("[a-z][a-zA-Z0-9_]*"))) {
      return invalid_value(fmt::format("The value {} for parameter {}.Id is invalid.", id, where));
    }
    if (has(q, "Expression") || !has(q, "MetricStat")) {
      return invalid_value(
          fmt::format("The parameter {} must hold a MetricStat: expressions are not answered "
                      "here.",
                      where));
    }
    const auto& stat = q.at("MetricStat");
    auto period = integer(stat, "Period", 0);
    if (period <= 0 || period % 60 != 0) {
      return invalid_value(
          fmt::format("The parameter {}.MetricStat.Period must be a multiple of 60.", where));
    }
    std::string stat_name = str(stat, "Stat");
    if (!statistic(stat_name, {1.0})) {
      return invalid_value(fmt::format("The value {} for parameter {}.MetricStat.Stat is invalid.",
                                       stat_name, where));
    }
    const auto& metric = stat.value("Metric", nlohmann::json::object());
    Key key{str(metric, "Namespace"), str(metric, "MetricName"), dimensions_of(metric)};
    std::map<std::int64_t, std::vector<double>> buckets;
    auto it = m_samples.find(key);
    if (it != m_samples.end()) {
      for (const auto& [time, value] : it->second) {
        auto secs =
            std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
        // Published with its minute, once that minute ended publish_delay ago.
        auto minute_end = WallTime(std::chrono::seconds(secs - secs % 60 + 60));
        if (minute_end > visible_before) {
          continue;
        }
        std::int64_t bucket = secs - secs % period;
        if (static_cast<double>(bucket) >= start && static_cast<double>(bucket) < end) {
          buckets[bucket].push_back(value);
        }
      }
    }
    nlohmann::json timestamps = nlohmann::json::array();
    nlohmann::json values = nlohmann::json::array();
    std::vector<std::pair<std::int64_t, double>> points;
    for (const auto& [bucket, samples] : buckets) {
      points.emplace_back(bucket, *statistic(stat_name, samples));
    }
    if (!ascending) {
      std::reverse(points.begin(), points.end());
    }
    for (const auto& [bucket, value] : points) {
      timestamps.push_back(bucket);
      values.push_back(value);
    }
    if (!boolean(q, "ReturnData", true)) {
      continue;
    }
    results.push_back({{"Id", id},
                       {"Label", str(q, "Label", key.metric)},
                       {"Timestamps", timestamps},
                       {"Values", values},
                       {"StatusCode", "Complete"},
                       {"Messages", nlohmann::json::array()}});
  }
  return nlohmann::json{{"MetricDataResults", results}, {"Messages", nlohmann::json::array()}};
}

AwsAnswer CloudWatchFake::put_metric_data(const nlohmann::json& in) {
  std::string name_space = str(in, "Namespace");
  if (name_space.empty() || name_space.rfind("AWS/", 0) == 0 || name_space[0] == ':') {
    return invalid_value(
        fmt::format("The value {} for parameter Namespace is invalid.", name_space));
  }
  auto data = list(in, "MetricData");
  std::size_t index = 0;
  for (const auto& d : data) {
    ++index;
    if (str(d, "MetricName").empty()) {
      return AwsError{
          "MissingRequiredParameterException",
          fmt::format("The parameter MetricData.member.{}.MetricName is required.", index), 400,
          "MissingParameter"};
    }
    if (has(d, "Value") && has(d, "Values")) {
      return AwsError{"InvalidParameterCombinationException",
                      fmt::format("The parameters MetricData.member.{}.Value and "
                                  "MetricData.member.{}.Values are mutually exclusive.",
                                  index, index),
                      400, "InvalidParameterCombination"};
    }
  }
  for (const auto& d : data) {
    WallTime time = has(d, "Timestamp") ? from_epoch_seconds(number(d.at("Timestamp"))) : m_env.now;
    Key key{name_space, str(d, "MetricName"), dimensions_of(d)};
    auto& samples = m_samples[key];
    if (has(d, "Value")) {
      samples.emplace_back(time, number(d.at("Value")));
    }
    auto values = list(d, "Values");
    auto counts = list(d, "Counts");
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto repeat = i < counts.size() ? static_cast<std::int64_t>(number(counts[i], 1)) : 1;
      for (std::int64_t n = 0; n < std::min<std::int64_t>(repeat, 10000); ++n) {
        samples.emplace_back(time, number(values[i]));
      }
    }
  }
  return nlohmann::json::object();
}

}  // namespace ztp::testing
