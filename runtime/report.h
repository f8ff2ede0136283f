// `train --report DIR` and `eval --report DIR`: one self-contained HTML page
// (DIR/report.html) with inline SVG plots and no external resources, so it can
// be mailed or archived with a run: the loss, accuracy and learning-rate
// curves, the confusion matrix as a heat map, and the bias/variance diagnosis
// of SPEC section 4 with the notes' recipe for whichever dominates.
//
// The page is plain string building; every piece of text that comes from the
// user (model and data names) is HTML-escaped.
#pragma once

#include "runtime/train/model_io.h"
#include "runtime/train/train.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc::rt {

// What goes on the page; every part is optional (eval has no history).
struct ReportData {
  std::string title;    // the model
  std::string subtitle; // what was run on which data
  std::vector<EpochRecord> history;
  std::optional<double> train_error, val_error, bayes_error; // fractions in [0, 1]
  // Rows: the true class, columns: the predicted one; empty without class labels.
  std::vector<int64_t> confusion;
  int64_t num_classes = 0;
  std::string confusion_caption; // which split the matrix counts
  std::optional<double> eval_loss, eval_accuracy;
};

// The bias/variance diagnosis (SPEC section 4). Without a Bayes error estimate
// the bias is the train error itself (Bayes error taken as 0).
struct Diagnosis {
  double bias = 0, variance = 0;
  bool avoidable = false;                   // bias is train - bayes (--bayes-error given)
  bool bias_dominates = true;               // bias >= variance
  std::vector<std::string> lines;           // the numbers, as sentences
  std::vector<std::string> recommendations; // the notes' recipe for the dominant one
};
Diagnosis diagnose(double train_error, double val_error, std::optional<double> bayes_error);

// Counts of (true, predicted) pairs of an evaluation kept with predictions.
std::vector<int64_t> confusion_matrix(const EvalResult& r, int64_t num_classes);

std::string html_escape(std::string_view text);
std::string report_html(const ReportData& data);

// Writes DIR/report.html atomically (a temporary file in DIR, fsync, rename):
// a reader sees the old page or the new one, never a partial page. Creates
// DIR. Returns the page's path; throws Error naming it on failure.
std::string write_report(const std::string& dir, const ReportData& data);

// The page of a finished training run: its history, the diagnosis from the
// train and val errors, and the confusion matrix of the test split (or val).
ReportData training_report(const std::string& model, const std::string& data,
                           const TrainResult& result, std::optional<double> bayes_error);

// The page of `eval`: the confusion matrix of the evaluated examples.
ReportData evaluation_report(const std::string& model, const std::string& what, const EvalResult& r,
                             int64_t num_classes);

} // namespace netc::rt
