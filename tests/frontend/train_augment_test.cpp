// The train block's `augment`: the transforms it accepts, how they reach the
// IR (and its JSON form), and every error, located at the transform.
#include "frontend/parser.h"
#include "frontend/train_block.h"
#include "frontend_test_helpers.h"

using namespace netc;

namespace {

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

#define CHECK_AUGMENT_ERROR(body, line_, col_, fragment)                                           \
  do {                                                                                             \
    Diagnostic d_ = train_error(body);                                                             \
    INFO(d_.format());                                                                             \
    CHECK(d_.loc == SourceLoc{line_, col_});                                                       \
    CHECK(d_.message.find(fragment) != std::string::npos);                                         \
  } while (0)

// An image model (a conv net on [batch, 1, 28, 28]) with `augment = AUGMENT`.
std::string image_model(const std::string& augment) {
  return "input x : f32[batch, 1, 28, 28]\nlabel y : class(10)[batch]\n"
         "loss softmax_cross_entropy(dense(flatten(x), 10), y)\ntrain {\n  augment = " +
         augment + "\n}\n";
}

} // namespace

TEST_CASE("augment: none by default, a list of transforms in the written order") {
  CHECK(train("").augment.empty());
  CHECK(train("  augment = none").augment.empty());
  std::vector<AugmentStep> want = {{"shift", 2}, {"flip", 0}, {"cutout", 8}};
  CHECK(train("  augment = shift(2), flip, cutout(8)").augment == want);
  CHECK(train("  augment = rotate(10), scale(0.1)").augment ==
        std::vector<AugmentStep>{{"rotate", 10}, {"scale", 0.1}});
  // crop(pad=N) is the same transform as shift(N).
  CHECK(train("  augment = crop(pad=4), flip").augment ==
        std::vector<AugmentStep>{{"shift", 4}, {"flip", 0}});
  CHECK(train("  augment = shift(pixels=3)").augment == std::vector<AugmentStep>{{"shift", 3}});
  CHECK(train("  augment = flip()").augment == std::vector<AugmentStep>{{"flip", 0}});
  // Zero strength is allowed (and is the identity).
  CHECK(train("  augment = shift(0), rotate(0)").augment ==
        std::vector<AugmentStep>{{"shift", 0}, {"rotate", 0}});
}

TEST_CASE("augment: the text form and the JSON round trip - absent from JSON when none") {
  TrainConfig c = train("  augment = shift(2), flip, rotate(7.5), cutout(8)");
  CHECK(augment_text(c.augment) == "shift(2), flip, rotate(7.5), cutout(8)");
  CHECK(augment_text({}) == "none");
  CHECK(train_config_from_json(train_config_to_json(c)) == c);
  // Models without augmentation print exactly as before the key existed.
  CHECK(train_config_to_json(TrainConfig{}).find("augment") == std::string::npos);
  CHECK(train_config_from_json(train_config_to_json(TrainConfig{})) == TrainConfig{});
}

TEST_CASE("augment: invalid transforms are located at the transform") {
  CHECK_AUGMENT_ERROR("  augment = shfit(2)", 2, 13,
                      "unknown augmentation 'shfit'; did you mean 'shift'?");
  CHECK_AUGMENT_ERROR("  augment = flip, cutuot(8)", 2, 19, "did you mean 'cutout'?");
  CHECK_AUGMENT_ERROR("  augment = blur", 2, 13, "expected none, shift, crop, flip");
  CHECK_AUGMENT_ERROR("  augment = shift", 2, 13, "shift needs its pixels, e.g. shift(2)");
  CHECK_AUGMENT_ERROR("  augment = flip, cutout", 2, 19, "cutout needs its size");
  CHECK_AUGMENT_ERROR("  augment = crop", 2, 13, "crop needs its pad, e.g. crop(pad=4)");
  CHECK_AUGMENT_ERROR("  augment = shift(-1)", 2, 19,
                      "shift's pixels must be at least 0, found -1");
  CHECK_AUGMENT_ERROR("  augment = shift(1.5)", 2, 19, "shift's pixels must be an integer");
  CHECK_AUGMENT_ERROR("  augment = cutout(2.5)", 2, 20, "cutout's size must be an integer");
  CHECK_AUGMENT_ERROR("  augment = rotate(120)", 2, 20, "rotate's degrees must be in [0, 90]");
  CHECK_AUGMENT_ERROR("  augment = scale(1)", 2, 19, "scale's amount must be in [0, 1), found 1");
  CHECK_AUGMENT_ERROR("  augment = scale(x)", 2, 19, "scale's amount must be a number, found");
  CHECK_AUGMENT_ERROR("  augment = shift(2, 3)", 2, 22, "shift expects 1 argument, found 2");
  CHECK_AUGMENT_ERROR("  augment = flip(2)", 2, 18, "flip expects 0 arguments, found 1");
  CHECK_AUGMENT_ERROR("  augment = shift(2), 3", 2, 23, "augment takes transforms such as");
  CHECK_AUGMENT_ERROR("  augment = \"flip\"", 2, 13, "augment takes transforms such as");
  CHECK_AUGMENT_ERROR("  augment = flip, none", 2, 19, "none cannot be combined");
  CHECK_AUGMENT_ERROR("  augment = flip, shift(1), flip", 2, 29, "augment has flip twice");
  CHECK_AUGMENT_ERROR("  augment = shift(2), crop(pad=4)", 2, 23,
                      "augment has shift(2) and crop(pad=4), the same transform");
  CHECK_AUGMENT_ERROR("  augment = flip\n  augment = none", 3, 3, "duplicate train key 'augment'");
  // Other keys read a comma-separated value as a tuple and say so.
  CHECK_AUGMENT_ERROR("  batch = 64, 128", 2, 11, "batch must be an integer, found a tuple");
}

TEST_CASE("augment needs an image input that its transforms fit in") {
  Graph g = test::build(image_model("shift(2), flip, cutout(28)"));
  CHECK(g.train.augment.size() == 3);
  CHECK(test::build(image_model("shift(27)")).train.augment.size() == 1);
  // The train block may come before the input.
  CHECK(test::build(
            "train {\n  augment = flip\n}\ninput x : f32[batch, 3, 8, 8]\n"
            "label y : class(2)[batch]\nloss softmax_cross_entropy(dense(flatten(x), 2), y)\n")
            .train.augment.size() == 1);

  CHECK_USER_ERROR(image_model("flip, shift(28)"), 5, 19,
                   "a shift of 28 pixels leaves nothing of a 28x28 image; use at most 27");
  CHECK_USER_ERROR(image_model("crop(pad=30)"), 5, 13, "a shift of 30 pixels");
  CHECK_USER_ERROR(image_model("flip, cutout(29)"), 5, 19,
                   "cutout(29) is larger than the 28x28 image; use at most 28");
  // A flat MLP input: say how to declare it as an image.
  CHECK_USER_ERROR(
      "input x : f32[batch, 784]\nlabel y : class(10)[batch]\n"
      "loss softmax_cross_entropy(dense(x, 10), y)\ntrain {\n  augment = shift(2), flip\n}\n",
      5, 13,
      "augment shifts and flips images, but the data input 'x' (line 1) is [batch, "
      "784]; declare it as f32[batch, 1, 28, 28] and flatten(x) before the dense "
      "layers");
  CHECK_USER_ERROR("input x : f32[batch, 10]\nlabel y : class(2)[batch]\n"
                   "loss softmax_cross_entropy(dense(x, 2), y)\ntrain {\n  augment = flip\n}\n",
                   5, 13, "declare it as f32[batch, C, H, W]");
  // Without augment the same flat model is fine.
  CHECK(test::build("input x : f32[batch, 784]\nlabel y : class(10)[batch]\n"
                    "loss softmax_cross_entropy(dense(x, 10), y)\ntrain {\n  augment = none\n}\n")
            .train.augment.empty());
}
