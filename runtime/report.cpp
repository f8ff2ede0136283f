#include "runtime/report.h"

#include "runtime/error.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace netc::rt {

namespace {

std::string percent(double v) { return fmt::format("{:.2f}%", 100 * v); }

struct Series {
  std::string name, css_class, color;
  std::vector<std::pair<double, double>> points; // (x, y), finite only
};

// A line chart: axes with min/max tick labels, one polyline per series (and a
// dot per point, so a one-epoch run still shows something), and a legend.
std::string line_chart(const std::string& title, const std::string& y_label,
                       const std::vector<Series>& series) {
  constexpr double W = 480, H = 260, L = 60, R = 110, T = 30, B = 40;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series)
    for (auto [x, y] : s.points) {
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  std::string svg = fmt::format("<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
                                "height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n"
                                "<text x=\"{}\" y=\"18\" class=\"title\">{}</text>\n",
                                W, H, W, H, L, html_escape(title));
  if (!std::isfinite(x0)) return svg + "<text x=\"60\" y=\"130\">no data</text></svg></figure>\n";
  // Degenerate ranges (one epoch, a constant rate) still get a visible span.
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    double pad = y0 == 0 ? 1 : std::abs(y0) * 0.1;
    y0 -= pad;
    y1 += pad;
  }
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" class=\"axis\"/>"
                     "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" class=\"axis\"/>\n",
                     L, T, H - B, W - R);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.4g}</text>"
                     "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.4g}</text>\n",
                     L - 4, T + 4, y1, L - 4, H - B, y0);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>"
                     "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>"
                     "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n",
                     L, H - B + 16, x0, W - R, H - B + 16, x1, (L + W - R) / 2, H - 6);
  svg += fmt::format("<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" "
                     "text-anchor=\"middle\">{}</text>\n",
                     (T + H - B) / 2, (T + H - B) / 2, html_escape(y_label));
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    if (s.points.empty()) continue;
    std::string pts;
    for (auto [x, y] : s.points) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    svg += fmt::format("<polyline class=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
                       "points=\"{}\"/>\n",
                       s.css_class, s.color, pts);
    for (auto [x, y] : s.points)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", px(x),
                         py(y), s.color);
    double ly = T + 10 + 18 * static_cast<double>(i);
    svg +=
        fmt::format("\n<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" "
                    "stroke-width=\"2\"/><text x=\"{4}\" y=\"{5}\">{6}</text>\n",
                    W - R + 10, ly, W - R + 30, s.color, W - R + 34, ly + 4, html_escape(s.name));
  }
  return svg + "</svg></figure>\n";
}

// The heat map: each cell's shade is its share of the true class's row, so
// that a rare class's mistakes are as visible as a common one's.
std::string heat_map(const std::vector<int64_t>& m, int64_t c) {
  const double cell = c <= 12 ? 40 : std::max(8.0, 480.0 / static_cast<double>(c));
  const double L = 60, T = 40;
  double size = cell * static_cast<double>(c);
  std::string svg = fmt::format(
      "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\">\n"
      "<text x=\"{2}\" y=\"14\" text-anchor=\"middle\">predicted class</text>"
      "<text x=\"14\" y=\"{3}\" transform=\"rotate(-90 14 {3})\" text-anchor=\"middle\">true "
      "class</text>\n",
      L + size + 20, T + size + 20, L + size / 2, T + size / 2);
  for (int64_t p = 0; p < c; ++p)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                       L + cell * (static_cast<double>(p) + 0.5), T - 6, p);
  svg += "\n";
  for (int64_t t = 0; t < c; ++t) {
    int64_t row = 0;
    for (int64_t p = 0; p < c; ++p) row += m[static_cast<size_t>(t * c + p)];
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", L - 6,
                       T + cell * (static_cast<double>(t) + 0.5) + 4, t);
    for (int64_t p = 0; p < c; ++p) {
      int64_t n = m[static_cast<size_t>(t * c + p)];
      double share = row ? static_cast<double>(n) / static_cast<double>(row) : 0;
      // White to dark blue; the label flips to white where the cell is dark.
      int r = static_cast<int>(std::lround(255 - 222 * share)),
          g = static_cast<int>(std::lround(255 - 153 * share)),
          b = static_cast<int>(std::lround(255 - 74 * share));
      double x = L + cell * static_cast<double>(p), y = T + cell * static_cast<double>(t);
      svg += fmt::format("<rect class=\"cell\" data-true=\"{}\" data-pred=\"{}\" x=\"{:.1f}\" "
                         "y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},{})\">"
                         "<title>true {} predicted {}: {} ({:.1f}% of the row)</title></rect>",
                         t, p, x, y, cell, cell, r, g, b, t, p, n, 100 * share);
      if (cell >= 24)
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
                           "fill=\"{}\">{}</text>",
                           x + cell / 2, y + cell / 2 + 4, share > 0.5 ? "#fff" : "#000", n);
      svg += "\n";
    }
  }
  return svg + "</svg></figure>\n";
}

std::optional<double> error_of(const std::optional<double>& accuracy) {
  if (!accuracy) return std::nullopt;
  return 1 - *accuracy;
}

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += ch;
    }
  }
  return out;
}

Diagnosis diagnose(double train_error, double val_error, std::optional<double> bayes_error) {
  Diagnosis d;
  d.avoidable = bayes_error.has_value();
  d.bias = train_error - bayes_error.value_or(0);
  d.variance = val_error - train_error;
  d.bias_dominates = d.bias >= d.variance;
  d.lines.push_back(
      fmt::format("train error {}, val error {}", percent(train_error), percent(val_error)));
  if (d.avoidable)
    d.lines.push_back(fmt::format("avoidable bias (train - Bayes {}) = {}", percent(*bayes_error),
                                  percent(d.bias)));
  else
    d.lines.push_back(fmt::format("bias (the train error; no --bayes-error given, so the Bayes "
                                  "error is taken as 0) = {}",
                                  percent(d.bias)));
  d.lines.push_back(fmt::format("variance (val - train) = {}", percent(d.variance)));
  if (d.bias_dominates) {
    d.lines.push_back("high bias dominates: the model underfits the training set");
    d.recommendations = {"a bigger network (more hidden layers or units)", "train longer",
                         "a better optimizer (e.g. Adam) or learning rate"};
  } else {
    d.lines.push_back("high variance dominates: the model overfits the training set");
    d.recommendations = {"more data (the best cure, when it can be had)",
                         "regularization (L2, dropout, early stopping)"};
  }
  return d;
}

std::vector<int64_t> confusion_matrix(const EvalResult& r, int64_t num_classes) {
  std::vector<int64_t> m(static_cast<size_t>(num_classes * num_classes), 0);
  for (size_t i = 0; i < r.labels.size() && i < r.predicted.size(); ++i) {
    int64_t t = r.labels[i], p = r.predicted[i];
    if (t >= 0 && t < num_classes && p >= 0 && p < num_classes)
      ++m[static_cast<size_t>(t * num_classes + p)];
  }
  return m;
}

std::string report_html(const ReportData& d) {
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>netc report: {0}</title>\n<style>\n"
      "body{{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}}\n"
      "figure{{display:inline-block;margin:0 1em 1em 0}}\n"
      "svg text{{font-size:12px;font-family:sans-serif}} svg .title{{font-weight:bold}}\n"
      ".axis{{stroke:#444;stroke-width:1}}\n"
      "table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px;"
      "text-align:right}}\n"
      "</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p>{1}</p>\n",
      html_escape(d.title), html_escape(d.subtitle));

  h += "<h2>Training curves</h2>\n";
  if (d.history.empty()) {
    h += "<p>No training history (this page was written by <code>eval</code>; "
         "<code>train --report</code> draws the curves).</p>\n";
  } else {
    Series tl{"train", "train", "#1f77b4", {}}, vl{"val", "val", "#d62728", {}};
    Series ta = tl, va = vl, lr{"lr", "lr", "#2ca02c", {}};
    auto add = [](Series& s, double x, std::optional<double> y) {
      if (y && std::isfinite(*y)) s.points.emplace_back(x, *y);
    };
    for (const EpochRecord& e : d.history) {
      double x = static_cast<double>(e.epoch);
      add(tl, x, e.train_loss);
      add(vl, x, e.val_loss);
      add(ta, x, e.train_accuracy);
      add(va, x, e.val_accuracy);
      add(lr, x, e.lr);
    }
    h += line_chart("Loss", "loss", {tl, vl});
    if (!ta.points.empty() || !va.points.empty()) h += line_chart("Accuracy", "accuracy", {ta, va});
    h += line_chart("Learning rate", "learning rate", {lr});
    h += "<table><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val loss</th>"
         "<th>val acc</th><th>lr</th><th>seconds</th></tr>\n";
    auto opt = [](std::optional<double> v, bool pct) {
      if (!v) return std::string("-");
      return pct ? percent(*v) : fmt::format("{:.4f}", *v);
    };
    for (const EpochRecord& e : d.history)
      h += fmt::format("<tr><td>{}</td><td>{:.4f}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td>{:.3g}</td><td>{:.1f}</td></tr>\n",
                       e.epoch, e.train_loss, opt(e.train_accuracy, true), opt(e.val_loss, false),
                       opt(e.val_accuracy, true), e.lr, e.seconds);
    h += "</table>\n";
  }

  h += "<h2>Confusion matrix</h2>\n";
  if (d.eval_loss)
    h += fmt::format("<p>{}: loss {:.4f}{}</p>\n", html_escape(d.confusion_caption), *d.eval_loss,
                     d.eval_accuracy ? fmt::format(", accuracy {}", percent(*d.eval_accuracy))
                                     : std::string());
  if (d.num_classes > 0 && d.confusion.size() == static_cast<size_t>(d.num_classes * d.num_classes))
    h += "<p>Rows: the true class; columns: the predicted class; the shade is the share of the "
         "row.</p>\n" +
         heat_map(d.confusion, d.num_classes);
  else
    h += "<p>No confusion matrix (the model has no class labels, or no split was evaluated).</p>\n";

  h += "<h2>Bias / variance diagnosis</h2>\n";
  if (d.train_error && d.val_error) {
    Diagnosis g = diagnose(*d.train_error, *d.val_error, d.bayes_error);
    h += "<ul class=\"diagnosis\">\n";
    for (const std::string& line : g.lines) h += "<li>" + html_escape(line) + "</li>\n";
    h += "</ul>\n<p>Recommended next steps for "
         "high " +
         std::string(g.bias_dominates ? "bias" : "variance") + ":</p>\n<ul>\n";
    for (const std::string& line : g.recommendations) h += "<li>" + html_escape(line) + "</li>\n";
    h += "</ul>\n<p>High bias and high variance need different cures: more data does not fix "
         "high bias. Fix the bias first (the training set), then the variance (the val "
         "set).</p>\n";
  } else {
    h += "<p>The diagnosis needs the train and val errors of a training run "
         "(<code>train --report</code>).</p>\n";
  }
  return h + "</body>\n</html>\n";
}

std::string write_report(const std::string& dir, const ReportData& data) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string path = (fs::path(dir) / "report.html").string();
  auto fail = [&](int err) {
    return Error(fmt::format("cannot write the report {}: {}", path, std::strerror(err)));
  };
  if (ec) throw fail(ec.value());
  std::string page = report_html(data);
  std::string tmp = (fs::path(dir) / ".report.html.XXXXXX").string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw fail(errno);
  // Closes the descriptor and removes the temporary file unless it was renamed.
  struct Temp {
    int fd;
    const std::string& name;
    bool keep = false;
    ~Temp() {
      if (fd >= 0) ::close(fd);
      if (!keep) ::unlink(name.c_str());
    }
  } temp{fd, tmp};
  for (size_t done = 0; done < page.size();) {
    ssize_t n = ::write(fd, page.data() + done, page.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(errno);
    done += static_cast<size_t>(n);
  }
  // mkstemp makes the file private; a report is for reading like any output.
  (void)::fchmod(fd, 0644);
  if (::fsync(fd) != 0) throw fail(errno);
  int rc = ::close(fd);
  temp.fd = -1;
  if (rc != 0) throw fail(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail(errno);
  temp.keep = true;
  return path;
}

ReportData training_report(const std::string& model, const std::string& data, const TrainResult& r,
                           std::optional<double> bayes_error) {
  ReportData d;
  d.title = model;
  d.subtitle =
      fmt::format("train on {}: {} epochs{}, {:.1f} s", data, r.epochs_run,
                  r.stopped_early ? fmt::format(" (stopped early, best epoch {})", r.best_epoch)
                                  : std::string(),
                  r.seconds);
  if (!r.augment.empty()) d.subtitle += fmt::format(", augment {}", augment_text(r.augment));
  d.history = r.history;
  d.bayes_error = bayes_error;
  // The errors of the weights that training ended with: the best epoch's when
  // early stopping restored them.
  const EpochRecord* at = nullptr;
  for (const EpochRecord& e : r.history)
    if (e.epoch == (r.best_epoch > 0 ? r.best_epoch : r.epochs_run)) at = &e;
  if (at) d.train_error = error_of(at->train_accuracy);
  if (r.val) d.val_error = error_of(r.val->accuracy);
  const std::optional<EvalResult>& shown = r.test ? r.test : r.val;
  if (shown) {
    d.eval_loss = shown->loss;
    d.eval_accuracy = shown->accuracy;
    d.confusion_caption =
        fmt::format("the {} split ({} examples)", r.test ? "test" : "val", shown->count);
    if (r.num_classes > 0 && !shown->labels.empty()) {
      d.num_classes = r.num_classes;
      d.confusion = confusion_matrix(*shown, r.num_classes);
    }
  }
  return d;
}

ReportData evaluation_report(const std::string& model, const std::string& what, const EvalResult& r,
                             int64_t num_classes) {
  ReportData d;
  d.title = model;
  d.subtitle = fmt::format("eval of {}: {} examples", what, r.count);
  d.eval_loss = r.loss;
  d.eval_accuracy = r.accuracy;
  d.confusion_caption = what;
  if (num_classes > 0 && r.accuracy) {
    d.num_classes = num_classes;
    d.confusion = confusion_matrix(r, num_classes);
  }
  return d;
}

} // namespace netc::rt
