// `train --report DIR` and `eval --report DIR`: a self-contained HTML page with
// the curves, the confusion matrix heat map and the bias/variance diagnosis,
// replaced atomically; run in-process on the test model.
#include "cli_test_util.h"
#include "runtime/report.h"

#include <doctest/doctest.h>
#include <filesystem>
#include <sys/stat.h>

using namespace netc::rt;
using namespace netc::rt::test::cli;

namespace {

ino_t inode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

} // namespace

TEST_CASE("train --report writes the curves, the confusion matrix and the diagnosis") {
  Fixture f;
  std::string dir = f.dir / "rep";
  Result r = run({"train", "--data", f.data, "--epochs", "3", "--lr", "0.5", "--report", dir});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::string page_path = dir + "/report.html";
  CHECK(contains(r.out, "report: " + page_path + "\n"));
  std::string page = slurp(page_path);
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(page.ends_with("</html>\n"));
  CHECK(count(page, "<svg") == 4); // loss, accuracy, learning rate, confusion matrix
  CHECK(count(page, "<svg") == count(page, "</svg>"));
  CHECK(count(page, "<polyline class=\"train\"") == 2); // loss and accuracy
  CHECK(count(page, "<polyline class=\"val\"") == 2);
  CHECK(count(page, "<polyline class=\"lr\"") == 1);
  CHECK(count(page, "<rect class=\"cell\"") == 4); // 2 classes x 2
  CHECK(contains(page, "the test split (40 examples)"));
  CHECK(contains(page, "Bias / variance diagnosis"));
  CHECK(contains(page, "no --bayes-error given"));
  CHECK_FALSE(contains(page, "avoidable bias"));
  CHECK(contains(page, "variance (val - train)"));
  CHECK(contains(page, "Recommended next steps for high"));
  // Self-contained: nothing is fetched from elsewhere.
  CHECK_FALSE(contains(page, "src="));
  CHECK_FALSE(contains(page, "href="));
  CHECK_FALSE(contains(page, "<script"));
}

TEST_CASE("--bayes-error adds the avoidable bias") {
  Fixture f;
  std::string dir = f.dir / "rep";
  Result r = run({"train", "--data", f.data, "--epochs", "2", "--lr", "0.5", "--bayes-error",
                  "0.05", "--report", dir});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::string page = slurp(dir + "/report.html");
  CHECK(contains(page, "avoidable bias (train - Bayes 5.00%)"));
  CHECK_FALSE(contains(page, "no --bayes-error given"));
  CHECK(run({"train", "--data", f.data, "--bayes-error", "2", "--report", dir}).status == 2);
}

TEST_CASE("an existing report is replaced atomically, with no temporary file left") {
  Fixture f;
  std::string dir = f.dir / "rep";
  std::filesystem::create_directories(dir);
  std::string page_path = dir + "/report.html";
  netc::rt::test::write_file(page_path, "stale");
  ino_t before = inode(page_path);
  Result r = run({"train", "--data", f.data, "--epochs", "1", "--report", dir});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(slurp(page_path).starts_with("<!DOCTYPE html>"));
  // A new file renamed over the old one, not the old one rewritten in place.
  CHECK(inode(page_path) != before);
  CHECK(files_in(dir) == 1);
}

TEST_CASE("eval --report draws the confusion matrix of the evaluated data") {
  Fixture f;
  std::string a = f.dir / "a.st", dir = f.dir / "eval-rep";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "2", "--lr", "0.5", "--save", a}).status ==
          0);
  Result r = run({"eval", "--weights", a, "--report", dir});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(contains(r.out, "report: " + dir + "/report.html\n"));
  std::string page = slurp(dir + "/report.html");
  CHECK(count(page, "<rect class=\"cell\"") == 4);
  CHECK(contains(page, "the test split of csv:"));
  CHECK(contains(page, "No training history"));
  int64_t total = 0;
  for (int t = 0; t < 2; ++t)
    for (int p = 0; p < 2; ++p) {
      std::string key = fmt::format("<title>true {} predicted {}: ", t, p);
      size_t at = page.find(key);
      REQUIRE(at != std::string::npos);
      total += std::stoll(page.substr(at + key.size()));
    }
  CHECK(total == 40);
}

TEST_CASE("the diagnosis names whichever of bias and variance dominates") {
  Diagnosis high_bias = diagnose(0.15, 0.16, 0.01);
  CHECK(high_bias.avoidable);
  CHECK(high_bias.bias_dominates);
  CHECK(high_bias.bias == doctest::Approx(0.14));
  CHECK(high_bias.recommendations.at(0).find("bigger network") != std::string::npos);
  Diagnosis high_variance = diagnose(0.01, 0.11, std::nullopt);
  CHECK_FALSE(high_variance.avoidable);
  CHECK_FALSE(high_variance.bias_dominates);
  CHECK(high_variance.variance == doctest::Approx(0.10));
  CHECK(high_variance.recommendations.at(0).find("more data") != std::string::npos);
  CHECK(html_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  ReportData d;
  d.title = "<script>";
  CHECK_FALSE(contains(report_html(d), "<script>"));
}
