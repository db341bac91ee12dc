// The Prometheus text exposition of every metric kind, exactly.
#include "common/metrics.h"

#include <limits>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

TEST(MetricsTest, RendersEveryKindWithExactNumbers) {
  Metrics m;
  m.AddCounter("c_total", "a counter", {{"listener", "http"}})->Add(12);
  m.AddGauge("g", "a gauge")->Set(-3);
  m.AddCallbackGauge("limit_bytes", "a large callback", [] { return 268435456.0; });
  m.AddCallbackGauge("ratio", "a fraction", [] { return 0.125; });
  m.AddCallbackGauge("unknown", "not a number", [] { return std::numeric_limits<double>::quiet_NaN(); });
  Histogram* h = m.AddHistogram("d_seconds", "a histogram", {0.005, 0.25});
  h->Observe(0.001);
  h->Observe(0.1);
  h->Observe(3);
  EXPECT_EQ(m.Render(),
            "# HELP c_total a counter\n# TYPE c_total counter\nc_total{listener=\"http\"} 12\n"
            "# HELP g a gauge\n# TYPE g gauge\ng -3\n"
            "# HELP limit_bytes a large callback\n# TYPE limit_bytes gauge\nlimit_bytes 268435456\n"
            "# HELP ratio a fraction\n# TYPE ratio gauge\nratio 0.125\n"
            "# HELP unknown not a number\n# TYPE unknown gauge\nunknown NaN\n"
            "# HELP d_seconds a histogram\n# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"0.005\"} 1\nd_seconds_bucket{le=\"0.25\"} 2\n"
            "d_seconds_bucket{le=\"+Inf\"} 3\nd_seconds_sum 3.101\nd_seconds_count 3\n");
}

}  // namespace
}  // namespace teletrace
