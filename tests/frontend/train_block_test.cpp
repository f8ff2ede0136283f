// The train block: every key's values, defaults, and range checks.
#include "frontend/parser.h"
#include "frontend/train_block.h"
#include "frontend_test_helpers.h"

using namespace netc;

namespace {

// Parses `train { BODY }` alone; the builder needs no model for it.
TrainConfig train(const std::string& body) {
  Module m = parse("train {\n" + body + "\n}\n", "t.nn");
  return build_train_config(std::get<TrainStmt>(m.stmts.at(0)), "t.nn");
}

Diagnostic train_error(const std::string& body) {
  try {
    train(body);
  } catch (const UserError& e) {
    return e.diagnostics().at(0);
  }
  return Diagnostic{"", {}, "NO ERROR"};
}

// Body lines start at line 2, so a one-line body's errors are on line 2.
#define CHECK_TRAIN_ERROR(body, line_, col_, fragment)                                             \
  do {                                                                                             \
    Diagnostic d_ = train_error(body);                                                             \
    INFO(d_.format());                                                                             \
    CHECK(d_.loc == SourceLoc{line_, col_});                                                       \
    CHECK(d_.message.find(fragment) != std::string::npos);                                         \
  } while (0)

} // namespace

TEST_CASE("an absent key keeps the TrainConfig default") {
  CHECK(train("") == TrainConfig{});
  // No split: the data decides at run time (runtime/data/split.h), not the compiler.
  CHECK_FALSE(train("  epochs = 3").split.has_value());
}

TEST_CASE("data, data_dir, normalize, batch, epochs, seed, max_norm, bayes_error") {
  TrainConfig c = train("  data = fashion-mnist\n  data_dir = \"/srv/fm\"\n  normalize = "
                        "per_channel\n  batch = 64\n  epochs = 3\n  seed = 0\n  max_norm = 4\n"
                        "  bayes_error = 0.05");
  CHECK(c.data == "fashion-mnist");
  CHECK(c.data_dir == "/srv/fm");
  CHECK(c.normalize == "per_channel");
  CHECK(c.batch == 64);
  CHECK(c.epochs == 3);
  CHECK(c.seed == 0);
  CHECK(c.max_norm == 4.0);
  CHECK(c.bayes_error == 0.05);
  CHECK(train("  data = \"csv:d.csv:label=0\"").data == "csv:d.csv:label=0");
  CHECK(train("  data = \"idx:a,b\"").data == "idx:a,b");
  CHECK(train("  data = \"npy:x.npy,y.npy\"").data == "npy:x.npy,y.npy");
  for (const char* n : {"global", "per_feature", "per_channel", "none"})
    CHECK(train(std::string("  normalize = ") + n).normalize == n);
}

TEST_CASE("split: counts, ratios, and the dataset's test set") {
  SplitConfig s = *train("  split = 50000 / 10000 / test").split;
  CHECK_FALSE(s.ratios);
  CHECK(s.parts == std::vector<double>{50000, 10000});
  CHECK(s.use_test_set);
  s = *train("  split = 0.6 / 0.2 / 0.2").split;
  CHECK(s.ratios);
  CHECK(s.parts == std::vector<double>{0.6, 0.2, 0.2});
  CHECK_FALSE(s.use_test_set);
  s = *train("  split = 0.9 / 0.1 / test").split;
  CHECK(s.ratios);
  CHECK(s.parts == std::vector<double>{0.9, 0.1});
  CHECK(s.use_test_set);
  s = *train("  split = 40000 / 10000 / 10000").split;
  CHECK(s.parts.size() == 3);
  CHECK_FALSE(s.use_test_set);
  s = *train("  split = 0.8 / 0.2").split;
  CHECK(s.parts == std::vector<double>{0.8, 0.2});
}

TEST_CASE("optimizers keep unspecified arguments at their defaults") {
  OptimizerConfig o = train("  optimizer = sgd(lr=0.1)").optimizer;
  CHECK(o.kind == "sgd");
  CHECK(o.lr == 0.1);
  o = train("  optimizer = momentum(lr=0.01, beta=0.8)").optimizer;
  CHECK(o.kind == "momentum");
  CHECK(o.beta == 0.8);
  o = train("  optimizer = rmsprop(beta=0.99, eps=1e-6)").optimizer;
  CHECK(o.kind == "rmsprop");
  CHECK(o.lr == 1e-3);
  CHECK(o.beta == 0.99);
  CHECK(o.eps == 1e-6);
  o = train("  optimizer = adam(lr=3e-4, beta1=0.85, beta2=0.99, eps=1e-7)").optimizer;
  CHECK(o.kind == "adam");
  CHECK(o.lr == 3e-4);
  CHECK(o.beta1 == 0.85);
  CHECK(o.beta2 == 0.99);
  CHECK(o.eps == 1e-7);
  CHECK(train("  optimizer = sgd").optimizer == OptimizerConfig{"sgd"});
  CHECK(train("  optimizer = sgd(0.5)").optimizer.lr == 0.5); // positional: lr first
}

TEST_CASE("PyTorch's optimizer forms: sgd momentum and nesterov, weight decay, adamw") {
  OptimizerConfig o = train("  optimizer = sgd(lr=0.1, momentum=0.9, nesterov=true)").optimizer;
  CHECK(o.momentum == 0.9);
  CHECK(o.nesterov);
  CHECK(o.weight_decay == 0);
  CHECK(train("  optimizer = momentum(beta=0.9, nesterov=1)").optimizer.nesterov);
  CHECK_FALSE(train("  optimizer = momentum(nesterov=false)").optimizer.nesterov);
  CHECK(train("  optimizer = adam(weight_decay=1e-4)").optimizer.weight_decay == 1e-4);
  o = train("  optimizer = adamw").optimizer;
  CHECK(o.kind == "adamw");
  CHECK(o.weight_decay == 0.01); // torch.optim.AdamW's default
  CHECK(train("  optimizer = adamw(weight_decay=0)").optimizer.weight_decay == 0);
  CHECK_TRAIN_ERROR("  optimizer = sgd(lr=0.1, nesterov=true)", 2, 36,
                    "nesterov needs momentum > 0");
  CHECK_TRAIN_ERROR("  optimizer = sgd(momentum=1)", 2, 28, "momentum must be in [0, 1)");
  CHECK_TRAIN_ERROR("  optimizer = sgd(nesterov=yes)", 2, 28,
                    "nesterov must be true or false, found 'yes'");
  CHECK_TRAIN_ERROR("  optimizer = adamw(weight_decay=-1)", 2, 34,
                    "weight_decay must be at least 0");
  CHECK_TRAIN_ERROR("  optimizer = rmsprop(nesterov=true)", 2, 23,
                    "rmsprop has no argument 'nesterov'");
}

TEST_CASE("learning-rate schedules") {
  CHECK(train("  lr_decay = none").lr_decay == LrDecayConfig{});
  LrDecayConfig d = train("  lr_decay = inverse_time(rate=0.5)").lr_decay;
  CHECK(d.kind == "inverse_time");
  CHECK(d.rate == 0.5);
  CHECK(train("  lr_decay = exponential(base=0.9)").lr_decay.base == 0.9);
  d = train("  lr_decay = epoch_power(k=2, p=0.5)").lr_decay;
  CHECK(d.k == 2.0);
  CHECK(d.p == 0.5);
  CHECK(train("  lr_decay = step_sqrt(k=0.5)").lr_decay.k == 0.5);
  d = train("  lr_decay = staircase(factor=0.1, every=5)").lr_decay;
  CHECK(d.factor == 0.1);
  CHECK(d.every == 5);
  d = train("  lr_decay = plateau(factor=0.2, patience=4, min_lr=1e-5)").lr_decay;
  CHECK(d.kind == "plateau");
  CHECK(d.patience == 4);
  CHECK(d.min_lr == 1e-5);
  d = train("  lr_decay = cosine(warmup=2, min_lr=1e-4)").lr_decay;
  CHECK(d.kind == "cosine");
  CHECK(d.warmup == 2);
  CHECK(d.min_lr == 1e-4);
  CHECK(train("  lr_decay = cosine").lr_decay.warmup == 0);
  CHECK_TRAIN_ERROR("  lr_decay = cosine(warmup=-1)", 2, 28, "warmup must be at least 0");
  CHECK_TRAIN_ERROR("  lr_decay = cosine(warmup=1.5)", 2, 28, "warmup must be an integer");
}

TEST_CASE("early stopping") {
  CHECK_FALSE(train("  early_stop = none").early_stop.enabled);
  EarlyStopConfig e = train("  early_stop = patience(5, on=val_error)").early_stop;
  CHECK(e.enabled);
  CHECK(e.patience == 5);
  CHECK(e.on == "val_error");
  CHECK(train("  early_stop = patience").early_stop.patience == 3);
}

TEST_CASE("the train block reaches the graph") {
  Graph g = test::build("input x : f32[batch, 2]\noutput y = x\ntrain {\n  batch = 7\n}\n");
  CHECK(g.train.batch == 7);
}

TEST_CASE("invalid train values are located at the value") {
  CHECK_TRAIN_ERROR("  optimizer = adam(lr=-0.1)", 2, 23,
                    "learning rate must be positive, found -0.1");
  CHECK_TRAIN_ERROR("  optimizer = sgd(lr=0)", 2, 22, "learning rate must be positive, found 0");
  CHECK_TRAIN_ERROR("  optimizer = adam(beta1=1)", 2, 26, "beta1 must be in [0, 1), found 1");
  CHECK_TRAIN_ERROR("  optimizer = rmsprop(eps=0)", 2, 27, "eps must be positive");
  CHECK_TRAIN_ERROR("  optimizer = adma(lr=0.1)", 2, 15, "did you mean 'adam'?");
  CHECK_TRAIN_ERROR("  optimizer = sgd(lr=0.1, beta=0.9)", 2, 27, "sgd has no argument 'beta'");
  CHECK_TRAIN_ERROR("  batch = 0", 2, 11, "batch must be at least 1, found 0");
  CHECK_TRAIN_ERROR("  batch = 12.5", 2, 11, "batch must be an integer, found 12.5");
  CHECK_TRAIN_ERROR("  epochs = -2", 2, 12, "epochs must be at least 1, found -2");
  CHECK_TRAIN_ERROR("  seed = -1", 2, 10, "seed must be at least 0");
  CHECK_TRAIN_ERROR("  split = 0.6 / 0.3 / 0.2", 2, 11, "split ratios must sum to 1, found 1.1");
  CHECK_TRAIN_ERROR("  split = 0.5 / 100", 2, 17, "mixes ratios and counts");
  CHECK_TRAIN_ERROR("  split = test / 0.5", 2, 11, "split parts must be numbers");
  CHECK_TRAIN_ERROR("  split = 100", 2, 11, "split has 1 part");
  CHECK_TRAIN_ERROR("  normalize = globl", 2, 15, "did you mean 'global'?");
  CHECK_TRAIN_ERROR("  data = mnist", 2, 10, "unknown data set 'mnist'");
  CHECK_TRAIN_ERROR("  data = \"png:dir\"", 2, 10, "unknown data source \"png:dir\"");
  CHECK_TRAIN_ERROR("  data = \"idx:only_one\"", 2, 10, "needs two files");
  CHECK_TRAIN_ERROR("  data_dir = fm", 2, 14, "data_dir must be a quoted path");
  CHECK_TRAIN_ERROR("  lr_decay = staircase(factor=1.5)", 2, 31, "factor must be in (0, 1]");
  CHECK_TRAIN_ERROR("  lr_decay = staircase(every=0)", 2, 30, "every must be at least 1");
  CHECK_TRAIN_ERROR("  lr_decay = inverse_tme(rate=1)", 2, 14, "did you mean 'inverse_time'?");
  CHECK_TRAIN_ERROR("  early_stop = patience(3, on=val_acc)", 2, 31, "early-stopping metric");
  CHECK_TRAIN_ERROR("  max_norm = 0", 2, 14, "max_norm must be positive");
  CHECK_TRAIN_ERROR("  bayes_error = 1", 2, 17, "bayes_error must be in [0, 1)");
}

TEST_CASE("unknown and duplicate keys") {
  CHECK_TRAIN_ERROR("  epoch = 3", 2, 3, "unknown train key 'epoch'; did you mean 'epochs'?");
  CHECK_TRAIN_ERROR("  colour = 3", 2, 3, "expected data, data_dir, split");
  CHECK_TRAIN_ERROR("  batch = 3\n  batch = 4", 3, 3,
                    "duplicate train key 'batch' (first set at line 2)");
}
