// Checkpoints that pass the checksum but say something impossible (issue 13,
// "found when tried as a new user would"): the checksum proves the bytes are
// the ones a writer wrote, not that the writer was netc or that the values
// make sense. Each case is written here with a valid checksum and must fail
// with a message naming the file and the field, exit 1, and change nothing.
#include "cli_test_util.h"
#include "runtime/checkpoint.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

using namespace netc::rt;
using namespace netc::rt::test::cli;

namespace {

// A checkpoint of one epoch of the test model.
std::string trained(const Fixture& f, const std::string& name, bool random = false) {
  std::string path = f.dir / name;
  Result r = random
                 ? run({"train", "--random-data", "--steps", "2", "--batch", "4", "--save", path})
                 : run({"train", "--data", f.data, "--epochs", "1", "--save", path});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return path;
}

// `from` with one metadata field replaced, written by netc's own writer, so
// the checksum matches.
std::string with_metadata(const std::string& from, const std::string& key, const std::string& value,
                          const std::string& to) {
  SafetensorsFile file = read_safetensors(from);
  file.metadata[key] = value;
  write_safetensors(to, file);
  return to;
}

// A safetensors file from a header written by hand: the checksum is filled in
// as the writer does (FNV-1a over the file with its 16 digits as zeros).
std::string raw_checkpoint(const std::string& path, nlohmann::ordered_json header,
                           const std::string& data) {
  header["__metadata__"]["netc.checksum"] = std::string(16, '0');
  std::string text = header.dump();
  uint64_t h = fnv1a64(std::as_bytes(std::span<const char>(text.data(), text.size())));
  h = fnv1a64(std::as_bytes(std::span<const char>(data.data(), data.size())), h);
  std::string digits = fmt::format("{:016x}", h);
  text.replace(text.find(std::string(16, '0')), 16, digits);
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  test::write_file(path, bytes + text + data);
  return path;
}

std::string read_error(const std::string& path) {
  try {
    read_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("checkpoint metadata: every numeric field of a resumed run is range-checked") {
  Fixture f;
  std::string good = trained(f, "good.st");
  std::string bad = f.dir / "bad.st", out = f.dir / "out.st";
  struct Case {
    const char* key;
    const char* value;
    const char* says;
  };
  // The first three are the cases of the issue: batch 0 (it used to be trusted),
  // a negative epoch (training ran "epoch -4"), a huge or non-numeric step (the
  // bare text "stoll").
  for (const Case& c : {
           Case{"netc.batch", "0", "the metadata netc.batch is 0, below the minimum 1"},
           Case{"netc.epoch", "-5", "the metadata netc.epoch is -5, below the minimum 0"},
           Case{"netc.epoch", "99999999999999999999",
                "the metadata netc.epoch is \"99999999999999999999\", above the maximum"},
           Case{"netc.step", "abc", "the metadata netc.step is \"abc\", not an integer"},
           Case{"netc.step", "-1", "the metadata netc.step is -1, below the minimum 0"},
           Case{"netc.seed", "-1", "the metadata netc.seed is \"-1\", not a non-negative integer"},
           Case{"netc.lr0", "nan", "the metadata netc.lr0 is \"nan\", not a number"},
           Case{"netc.lr0", "-0.1", "the metadata netc.lr0 is -0.1, below the minimum 0"},
           Case{"netc.plateau.lr", "inf", "the metadata netc.plateau.lr is \"inf\", not a finite"},
           Case{"netc.plateau.best", "nan", "the metadata netc.plateau.best is \"nan\""},
           Case{"netc.plateau.have_best", "yes", "netc.plateau.have_best is \"yes\", not 0 or 1"},
           Case{"netc.early.bad_epochs", "7", "netc.early.bad_epochs is 7, above the maximum 1"},
           Case{"netc.early.best_epoch", "-2", "netc.early.best_epoch is -2, below the minimum 0"},
           Case{"netc.normalize", "sideways", "the metadata netc.normalize is not valid"},
       }) {
    CAPTURE(c.key);
    CAPTURE(c.value);
    with_metadata(good, c.key, c.value, bad);
    Result r = run({"train", "--resume", bad, "--epochs", "2", "--save", out});
    CHECK_MESSAGE(r.status == 1, r.out);
    CHECK_MESSAGE(contains(r.err, "checkpoint " + bad + ": the metadata " + c.key), r.err);
    CHECK_MESSAGE(contains(r.err, c.says), r.err);
    CHECK_FALSE(contains(r.err, "stoll"));
    CHECK_FALSE(contains(r.out, "epoch"));
  }
  // eval reads the seed (its split) and nothing else.
  with_metadata(good, "netc.seed", "12x", bad);
  Result e = run({"eval", "--weights", bad});
  CHECK(e.status == 1);
  CHECK_MESSAGE(contains(e.err, "the metadata netc.seed is \"12x\", not a non-negative integer"),
                e.err);
  // The limits themselves are accepted.
  with_metadata(good, "netc.seed", "18446744073709551615", bad);
  CHECK(run({"eval", "--weights", bad}).status == 0);
}

TEST_CASE("checkpoint metadata: a random-data run's record is checked the same way") {
  Fixture f;
  std::string good = trained(f, "random.st", true);
  std::string bad = f.dir / "bad.st";
  for (auto [key, value, says] :
       {std::tuple{"netc.batch", "0", "netc.batch is 0, below the minimum 1"},
        std::tuple{"netc.step", "99999999999999999999", "netc.step is"},
        std::tuple{"netc.step", "-4", "netc.step is -4, below the minimum 0"}}) {
    CAPTURE(key);
    with_metadata(good, key, value, bad);
    Result r = run({"train", "--random-data", "--steps", "4", "--resume", bad});
    CHECK(r.status == 1);
    CHECK_MESSAGE(contains(r.err, std::string("checkpoint ") + bad + ": the metadata " + says),
                  r.err);
    CHECK_FALSE(contains(r.out, "step "));
  }
}

TEST_CASE("safetensors: data_offsets must be integers, in the file, and back to back") {
  Fixture f;
  std::string p = f.dir / "raw.st";
  std::string eight(8, '\x01');
  auto tensor = [](nlohmann::json shape, nlohmann::json offsets) {
    return nlohmann::ordered_json{{"dtype", "F32"}, {"shape", shape}, {"data_offsets", offsets}};
  };
  nlohmann::ordered_json h;
  h["__metadata__"] = {{"netc.fingerprint", "x"}};
  h["a"] = tensor({2}, {0, 8});
  h["b"] = tensor({2}, {8, 16});
  CHECK(read_error(raw_checkpoint(p, h, eight + eight)) == "(no error)");

  // Overlapping: b reuses a's bytes.
  h["b"] = tensor({2}, {0, 8});
  CHECK(read_error(raw_checkpoint(p, h, eight + eight)) ==
        "checkpoint " + p +
            ": tensor b: data_offsets [0, 8] overlap the previous tensor's end at 8");
  // A hole between them, and bytes after the last.
  h["b"] = tensor({1}, {12, 16});
  CHECK(contains(
      read_error(raw_checkpoint(p, h, eight + eight)),
      "tensor b: data_offsets [12, 16] leave a hole after the previous tensor's end at 8"));
  h["b"] = tensor({1}, {8, 12});
  CHECK(read_error(raw_checkpoint(p, h, eight + eight)) ==
        "checkpoint " + p + ": 4 bytes after the last tensor's data");
  // Not integers, negative, not a pair.
  for (nlohmann::json off : {nlohmann::json{8.5, 16}, nlohmann::json{-8, 16}, nlohmann::json{8},
                             nlohmann::json("8,16")}) {
    h["b"] = tensor({2}, off);
    CHECK(contains(read_error(raw_checkpoint(p, h, eight + eight)),
                   "tensor b: data_offsets " + off.dump() + " is not a pair of byte offsets"));
  }
  // A shape whose element count overflows 64 bits, a negative and a fractional dimension.
  h["b"] = tensor({int64_t{1} << 40, int64_t{1} << 40}, {8, 16});
  CHECK(contains(read_error(raw_checkpoint(p, h, eight + eight)),
                 "tensor b: the shape [1099511627776,1099511627776] has more than 2^40 elements"));
  h["b"] = tensor("2", {8, 16});
  CHECK(
      contains(read_error(raw_checkpoint(p, h, eight + eight)), "tensor b: shape is not an array"));
  for (nlohmann::json shape : {nlohmann::json::array({-2}), nlohmann::json::array({2.5})}) {
    h["b"] = tensor(shape, {8, 16});
    std::string e = read_error(raw_checkpoint(p, h, eight + eight));
    CHECK_MESSAGE(contains(e, "tensor b: the shape " + shape.dump() +
                                  " is not a list of dimensions from 0 to 2^40"),
                  e);
  }
  // Not netc's JSON: the message is the reader's, not the JSON library's.
  h["b"] = tensor({2}, {8, 16});
  h["__metadata__"]["netc.epoch"] = 3;
  CHECK(read_error(raw_checkpoint(p, h, eight + eight)) ==
        "checkpoint " + p + ": malformed header: the metadata netc.epoch is not a string");
  h["__metadata__"]["netc.epoch"] = "3";
  h["b"] = 7;
  CHECK(contains(read_error(raw_checkpoint(p, h, eight + eight)),
                 "tensor b: expected an object with dtype, shape and data_offsets"));
}

TEST_CASE("safetensors: a tensor the model does not have is refused, not ignored") {
  Fixture f;
  std::string good = trained(f, "good.st");
  SafetensorsFile file = read_safetensors(good);
  file.tensors.push_back({"W_extra", "F32", {1}, std::vector<std::byte>(4)});
  std::string bad = f.dir / "extra.st";
  write_safetensors(bad, file);
  for (std::vector<std::string> args : {std::vector<std::string>{"eval", "--weights", bad},
                                        {"train", "--resume", bad, "--epochs", "2"}}) {
    Result r = run(args);
    CHECK(r.status == 1);
    CHECK_MESSAGE(contains(r.err, "checkpoint " + bad +
                                      " holds a tensor W_extra that model 'softmax_regression' "
                                      "does not have (its parameters and state are: "),
                  r.err);
  }
}

TEST_CASE("a FIFO given as a checkpoint or a data file is refused, not waited on") {
  Fixture f;
  std::string fifo = f.dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Result r = run({"eval", "--weights", fifo});
  CHECK(r.status == 1);
  CHECK_MESSAGE(
      contains(r.err, "checkpoint " + fifo + ": it is a FIFO (named pipe), not a regular file"),
      r.err);
  r = run({"train", "--data", "csv:" + fifo});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, fifo + ": is not a regular file"), r.err);
}
